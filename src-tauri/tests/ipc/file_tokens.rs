//! The file commands' bodies (`locket_desktop_lib::files`, each command is one line around one of them) driven on
//! a real unlocked vault: a made-up token, a path given where the token goes, a used token and a token chosen for
//! another action are all refused with `file_token_invalid`, and nothing is read, imported or written. A file the
//! owner chose (the token Rust mints when its own dialog returns, or for a dropped file) works once.
use locket_app::dto::SecretText;
use locket_app::{LockReason, Locket, Options};
use locket_desktop_lib::files::{self, FilePurpose};
use locket_desktop_lib::state::AppState;
use locket_grants::receipt::Collection;
use locket_vault::Passphrase;

const PASSPHRASE: &str = "violet harbour quilt 37 lantern";

/// The cheap KDF profile for the whole binary, set once before any vault is made (nothing else here touches the
/// environment).
fn fast_kdf() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| std::env::set_var("LOCKET_KDF_PROFILE", "test"));
}

async fn unlocked(dir: &std::path::Path) -> AppState {
    fast_kdf();
    let options = Options {
        collection: Collection::Desktop,
        listen_override: None,
        listen_refused: None,
        idle_override: None,
        serve: false,
    };
    let state = AppState::new(Locket::new(dir.join("vault"), options));
    state
        .locket
        .create(Passphrase::new(PASSPHRASE.into()), false)
        .await
        .unwrap();
    state
}

fn no_progress(_: u32, _: u32) {}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_commands_refuse_made_up_tokens_and_paths_and_touch_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let state = unlocked(tmp.path()).await;
    let request = tmp.path().join("request.json");
    std::fs::write(&request, crate::kit::Request::new().bytes()).unwrap();
    let victim = tmp.path().join("victim.txt");
    std::fs::write(&victim, b"keep me").unwrap();
    let out = tmp.path().join("export.json");

    let paths = [&request, &victim, &out].map(|p| p.to_string_lossy().into_owned());
    let mut tokens: Vec<&str> = vec!["", "made-up", "00112233445566778899aabbccddeeff"];
    tokens.extend(paths.iter().map(String::as_str));
    for token in tokens {
        let refused = [
            files::import_request(&state, token).await.map(drop),
            files::import_from(&state, token, None, no_progress).await.map(drop),
            files::export_to(&state, token, None, no_progress).await.map(drop),
            files::save_grant_file(&state, "grant".into(), token).await,
            files::export_receipts(&state, "shop.example".into(), token)
                .await
                .map(drop),
        ];
        for (i, r) in refused.into_iter().enumerate() {
            assert_eq!(
                r.unwrap_err().code,
                "file_token_invalid",
                "command {i} with token {token:?}"
            );
        }
    }
    assert_eq!(std::fs::read(&victim).unwrap(), b"keep me", "nothing was written over");
    assert!(!out.exists(), "nothing was exported");
    let s = state.session().unwrap();
    assert!(s.requests().unwrap().is_empty(), "nothing was imported");

    // A file chosen to be read is not one that may be written, and the misused choice is gone.
    let read = state.files.mint(victim.clone(), FilePurpose::RequestFile).unwrap();
    assert_eq!(read.name, "victim.txt");
    let wrong = files::export_to(&state, &read.token, None, no_progress).await;
    assert_eq!(wrong.unwrap_err().code, "file_token_invalid");
    assert_eq!(std::fs::read(&victim).unwrap(), b"keep me");
    assert_eq!(
        files::import_request(&state, &read.token).await.unwrap_err().code,
        "file_token_invalid"
    );

    // The owner's choice works, once.
    let chosen = state.files.mint(request.clone(), FilePurpose::RequestFile).unwrap();
    let imported = files::import_request(&state, &chosen.token).await.unwrap();
    assert_eq!(s.requests().unwrap().len(), 1, "{imported:?}");
    assert_eq!(
        files::import_request(&state, &chosen.token).await.unwrap_err().code,
        "file_token_invalid",
        "a token is single-use"
    );
    assert!(state.files.is_empty());

    // The export passphrase obeys the one passphrase rule (the desktop took any non-empty one).
    let chosen = state.files.mint(out.clone(), FilePurpose::VaultExport).unwrap();
    let weak = files::export_to(
        &state,
        &chosen.token,
        Some(SecretText::new("short".into())),
        no_progress,
    )
    .await;
    assert_eq!(weak.unwrap_err().code, "passphrase_too_short");
    assert!(!out.exists(), "a refused passphrase writes no export");
    let chosen = state.files.mint(out.clone(), FilePurpose::VaultExport).unwrap();
    let strong = SecretText::new("a long export passphrase 9".into());
    files::export_to(&state, &chosen.token, Some(strong), no_progress)
        .await
        .unwrap();
    assert!(out.is_file());
    state.locket.lock(LockReason::Button).await.unwrap();
}
