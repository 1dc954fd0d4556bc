//! Secret material: zeroized on drop, `[redacted]` in `Debug`, never `Display`ed by accident.
use std::fmt;

use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use crate::VaultError;

macro_rules! redacted_debug {
    ($t:ty) => {
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($t), "([redacted])"))
            }
        }
    };
}

pub(crate) fn random_bytes<const N: usize>() -> Result<Zeroizing<[u8; N]>, VaultError> {
    let mut out = Zeroizing::new([0u8; N]);
    SystemRandom::new()
        .fill(out.as_mut())
        .map_err(|_| VaultError::Storage("the system random number generator failed".into()))?;
    Ok(out)
}

/// The owner's passphrase. Crosses into the core once and is wiped when dropped.
#[derive(Clone)]
pub struct Passphrase(Zeroizing<String>);
redacted_debug!(Passphrase);

impl Passphrase {
    /// Wraps a passphrase (the `String` is moved in, so no other copy is left behind by this call).
    pub fn new(s: String) -> Self {
        Passphrase(Zeroizing::new(s))
    }
    /// The passphrase text, for key derivation only.
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// True when the passphrase is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Crockford-style base32 alphabet: no I, L, O, U, so the key is easy to read aloud and type.
const RECOVERY_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// 25 random bytes = 200 bits = 40 base32 characters, shown in 8 groups of 5.
const RECOVERY_BYTES: usize = 25;

/// A recovery key: 200 random bits shown once at creation as `XXXXX-XXXXX-…` (8 groups of 5).
#[derive(Clone)]
pub struct RecoveryKey(Zeroizing<String>);
redacted_debug!(RecoveryKey);

impl RecoveryKey {
    pub(crate) fn generate() -> Result<Self, VaultError> {
        let bytes = random_bytes::<RECOVERY_BYTES>()?;
        let mut out = Zeroizing::new(String::with_capacity(48));
        let mut acc: u32 = 0;
        let mut bits = 0;
        for b in bytes.iter() {
            acc = (acc << 8) | u32::from(*b);
            bits += 8;
            while bits >= 5 {
                bits -= 5;
                out.push(RECOVERY_ALPHABET[((acc >> bits) & 31) as usize] as char);
            }
            acc &= (1 << bits) - 1;
        }
        Ok(RecoveryKey(out))
    }

    /// Parses what the owner typed: case, spaces and dashes do not matter; `O` reads as `0`, `I`/`L` as `1`.
    pub fn parse(input: &str) -> Result<Self, VaultError> {
        let mut out = Zeroizing::new(String::with_capacity(40));
        for c in input.chars() {
            let c = match c.to_ascii_uppercase() {
                ' ' | '-' | '\t' | '\n' | '\r' => continue,
                'O' => '0',
                'I' | 'L' => '1',
                c => c,
            };
            if !c.is_ascii() || !RECOVERY_ALPHABET.contains(&(c as u8)) {
                return Err(VaultError::WrongRecoveryKey);
            }
            out.push(c);
        }
        if out.len() != RECOVERY_BYTES * 8 / 5 {
            return Err(VaultError::WrongRecoveryKey);
        }
        Ok(RecoveryKey(out))
    }

    /// The key in groups of five, for showing to the owner once.
    pub fn display_groups(&self) -> Zeroizing<String> {
        let mut s = Zeroizing::new(String::with_capacity(48));
        for (i, c) in self.0.chars().enumerate() {
            if i > 0 && i % 5 == 0 {
                s.push('-');
            }
            s.push(c);
        }
        s
    }

    pub(crate) fn normalized(&self) -> &str {
        &self.0
    }
}

/// The random 256-bit key SQLCipher encrypts the database with.
pub struct DataKey(pub(crate) Zeroizing<[u8; 32]>);
redacted_debug!(DataKey);

impl DataKey {
    pub(crate) fn generate() -> Result<Self, VaultError> {
        Ok(DataKey(random_bytes::<32>()?))
    }
    /// `PRAGMA key` statement for this raw key.
    pub(crate) fn pragma(&self) -> Zeroizing<String> {
        self.statement("key")
    }

    /// `PRAGMA rekey` statement: re-encrypts the (non-WAL) database of a connection under this key.
    pub(crate) fn rekey_pragma(&self) -> Zeroizing<String> {
        self.statement("rekey")
    }

    /// `PRAGMA <name> = "x'<hex>'"`, with the hex written straight into a buffer that is wiped on drop (no
    /// intermediate `String` of the key is left on the heap; the capacity is reserved so it never reallocates).
    fn statement(&self, name: &str) -> Zeroizing<String> {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut s = Zeroizing::new(String::with_capacity(96));
        s.push_str("PRAGMA ");
        s.push_str(name);
        s.push_str(" = \"x'");
        for b in self.0.iter() {
            s.push(HEX[usize::from(b >> 4)] as char);
            s.push(HEX[usize::from(b & 15)] as char);
        }
        s.push_str("'\"");
        s
    }
}

/// The vault's Ed25519 signing seed (32 bytes); tokens, log heads and receipts are signed with it.
#[derive(Clone)]
pub struct SigningSeed(pub(crate) Zeroizing<[u8; 32]>);
redacted_debug!(SigningSeed);

impl SigningSeed {
    /// The 32 seed bytes.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let p = Passphrase::new("hunter2-distinctive".into());
        assert_eq!(format!("{p:?}"), "Passphrase([redacted])");
        let r = RecoveryKey::generate().unwrap();
        assert!(!format!("{r:?}").contains(r.normalized()));
        let k = DataKey::generate().unwrap();
        assert_eq!(format!("{k:?}"), "DataKey([redacted])");
    }

    #[test]
    fn key_pragmas_carry_the_hex_key_without_reallocating() {
        let k = DataKey(Zeroizing::new([0xa5; 32]));
        let p = k.pragma();
        assert_eq!(*p, format!("PRAGMA key = \"x'{}'\"", "a5".repeat(32)));
        assert_eq!(
            p.capacity(),
            96,
            "the buffer never grew (a reallocation would leave a copy behind)"
        );
        assert!(k.rekey_pragma().starts_with("PRAGMA rekey = \"x'a5a5"));
    }

    #[test]
    fn recovery_key_round_trips_through_typing() {
        let r = RecoveryKey::generate().unwrap();
        let shown = r.display_groups();
        assert_eq!(shown.len(), 47);
        let typed = shown.to_lowercase().replace('-', " ");
        let parsed = RecoveryKey::parse(&typed).unwrap();
        assert_eq!(parsed.normalized(), r.normalized());
        assert!(RecoveryKey::parse("too-short").is_err());
        assert!(RecoveryKey::parse(&format!("{}U", &shown[..46])).is_err());
    }
}
