/* Generated from docs/schemas/grant-request.v1.schema.json by scripts/generate-types.mjs: do not edit. */

/**
 * The ISO 4217 code of a currency in use, in upper case (fund codes, precious metals and test codes are not currencies here).
 */
export type Currency =
  | "AED"
  | "AFN"
  | "ALL"
  | "AMD"
  | "ANG"
  | "AOA"
  | "ARS"
  | "AUD"
  | "AWG"
  | "AZN"
  | "BAM"
  | "BBD"
  | "BDT"
  | "BGN"
  | "BHD"
  | "BIF"
  | "BMD"
  | "BND"
  | "BOB"
  | "BRL"
  | "BSD"
  | "BTN"
  | "BWP"
  | "BYN"
  | "BZD"
  | "CAD"
  | "CDF"
  | "CHF"
  | "CLP"
  | "CNY"
  | "COP"
  | "CRC"
  | "CUP"
  | "CVE"
  | "CZK"
  | "DJF"
  | "DKK"
  | "DOP"
  | "DZD"
  | "EGP"
  | "ERN"
  | "ETB"
  | "EUR"
  | "FJD"
  | "FKP"
  | "GBP"
  | "GEL"
  | "GHS"
  | "GIP"
  | "GMD"
  | "GNF"
  | "GTQ"
  | "GYD"
  | "HKD"
  | "HNL"
  | "HTG"
  | "HUF"
  | "IDR"
  | "ILS"
  | "INR"
  | "IQD"
  | "IRR"
  | "ISK"
  | "JMD"
  | "JOD"
  | "JPY"
  | "KES"
  | "KGS"
  | "KHR"
  | "KMF"
  | "KPW"
  | "KRW"
  | "KWD"
  | "KYD"
  | "KZT"
  | "LAK"
  | "LBP"
  | "LKR"
  | "LRD"
  | "LSL"
  | "LYD"
  | "MAD"
  | "MDL"
  | "MGA"
  | "MKD"
  | "MMK"
  | "MNT"
  | "MOP"
  | "MRU"
  | "MUR"
  | "MVR"
  | "MWK"
  | "MXN"
  | "MYR"
  | "MZN"
  | "NAD"
  | "NGN"
  | "NIO"
  | "NOK"
  | "NPR"
  | "NZD"
  | "OMR"
  | "PAB"
  | "PEN"
  | "PGK"
  | "PHP"
  | "PKR"
  | "PLN"
  | "PYG"
  | "QAR"
  | "RON"
  | "RSD"
  | "RUB"
  | "RWF"
  | "SAR"
  | "SBD"
  | "SCR"
  | "SDG"
  | "SEK"
  | "SGD"
  | "SHP"
  | "SLE"
  | "SOS"
  | "SRD"
  | "SSP"
  | "STN"
  | "SVC"
  | "SYP"
  | "SZL"
  | "THB"
  | "TJS"
  | "TMT"
  | "TND"
  | "TOP"
  | "TRY"
  | "TTD"
  | "TWD"
  | "TZS"
  | "UAH"
  | "UGX"
  | "USD"
  | "UYU"
  | "UZS"
  | "VED"
  | "VES"
  | "VND"
  | "VUV"
  | "WST"
  | "XAF"
  | "XCD"
  | "XOF"
  | "XPF"
  | "YER"
  | "ZAR"
  | "ZMW";

/**
 * What a retailer sends to a Locket owner to ask for profile fields. The owner decides; the retailer receives a grant file (locket.grant/v1) or nothing. Documents larger than 64 KiB are refused before they are parsed.
 */
export interface GrantRequestV1 {
  /**
   * Format identifier and version.
   */
  format: "locket.grant-request/v1";
  /**
   * Who is asking.
   */
  retailer: {
    /**
     * Stable retailer id chosen by the retailer: lowercase letters, digits, '.', '-', '_'; typically its domain ("shop.example"). It is the token's audience.
     */
    id: string;
    /**
     * Display name shown to the owner.
     */
    name: string;
    /**
     * The retailer's website origin: scheme, host and optional port, no path ("https://shop.example").
     */
    origin: string;
    /**
     * How the owner reaches the retailer about their data: an email address or an https URL.
     */
    contact: string;
    /**
     * URL of the retailer's privacy policy.
     */
    privacy_policy: string;
  };
  /**
   * What the retailer asks for, each with the purpose it will be used for. Each scope string may appear once.
   *
   * @minItems 1
   * @maxItems 64
   */
  scopes: {
    /**
     * A catalog field key ("contact.email", "custom.shoe_size"), a field group ("contact"), or a derived scope ("name:argument", reserved for minimized answers).
     */
    scope: string;
    /**
     * Why the retailer needs it; see docs/purposes.md.
     */
    purpose:
      | "order_fulfilment"
      | "delivery"
      | "account_management"
      | "personalised_recommendations"
      | "marketing_email"
      | "marketing_sms"
      | "marketing_post"
      | "analytics"
      | "age_verification"
      | "fraud_prevention"
      | "customer_support"
      | "other";
    /**
     * The retailer's own words about the purpose. Required when purpose is "other".
     */
    purpose_text?: string;
    /**
     * true if the retailer cannot serve the owner without this scope; the owner may still decline it.
     */
    required: boolean;
  }[];
  /**
   * How long the retailer wants access, as an ISO 8601 duration using weeks, days, hours, minutes and seconds only ("P30D", "P2W", "PT12H"); years and months are refused because their length varies. At most 3650 days. The owner may shorten it, never lengthen it.
   */
  requested_duration: string;
  /**
   * The retailer's promise about how long it keeps what it receives.
   */
  retention: {
    /**
     * Longest time the retailer keeps received data after receiving it, as an ISO 8601 duration (years and months allowed here, e.g. "P6Y" for tax records), or "until_grant_ends" if it deletes the data when the grant ends.
     */
    max_duration: string;
    /**
     * The promise in the retailer's words, shown to the owner.
     */
    statement: string;
  };
  /**
   * Optional: what the shop offers the owner in return for the data, shown on the consent screen and recorded in the consent receipt. Leave it out when nothing is offered (the owner then reads that nothing was). A request whose only problems lie in this member is refused with request_benefit_invalid.
   */
  benefit?: {
    /**
     * The offer in the shop's words ("10% off your first order").
     */
    description: string;
    /**
     * The offer in a form Locket states in its own words. kind names it; discount_percent needs percent (an integer 1-100), discount_amount needs amount (a decimal string greater than zero, at most 3 decimals) and currency (ISO 4217), loyalty_points needs points (an integer 1-1,000,000,000); free_shipping, early_access and other take no other member.
     */
    offer?: {
      kind: "discount_percent" | "discount_amount" | "loyalty_points" | "free_shipping" | "early_access" | "other";
      percent?: number;
      /**
       * Any text in a request: no control characters (U+0000–U+001F, U+007F–U+009F, so no tab or newline either), no line or paragraph separators (U+2028, U+2029) and no text-direction marks, embeddings, overrides or isolates (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069), which could make what the owner reads differ from what the request says. Locket refuses such a request with request_control_characters before any other check. Every other character, in any script, emoji included, is allowed.
       */
      amount?: string;
      currency?: Currency;
      points?: number;
    };
  };
  /**
   * Optional: every party beyond the shop itself that receives what the owner shares: processors working for the shop (a courier, a payment provider), joint controllers, third parties using it for their own purposes. Absent or empty means the shop says it shares with nobody else, and the owner reads exactly that. At most 20; each recipient once (same name ignoring case, role, purpose and country). A request whose only problems lie in this member is refused with request_recipients_invalid.
   *
   * @maxItems 20
   */
  recipients?: {
    /**
     * Who receives the data ("Parcel Express Ltd").
     */
    name: string;
    /**
     * processor: handles the data on the shop's behalf and instructions; joint_controller: decides with the shop why and how it is used; third_party: uses it for its own purposes.
     */
    role: "processor" | "joint_controller" | "third_party";
    /**
     * What the recipient receives the data for: one of the purposes of docs/purposes.md.
     */
    purpose:
      | "order_fulfilment"
      | "delivery"
      | "account_management"
      | "personalised_recommendations"
      | "marketing_email"
      | "marketing_sms"
      | "marketing_post"
      | "analytics"
      | "age_verification"
      | "fraud_prevention"
      | "customer_support"
      | "other";
    /**
     * The shop's words about that purpose. Required when purpose is "other".
     */
    purpose_text?: string;
    /**
     * Where the recipient is: an ISO 3166-1 alpha-2 code ("DE").
     */
    country:
      | "AD"
      | "AE"
      | "AF"
      | "AG"
      | "AI"
      | "AL"
      | "AM"
      | "AO"
      | "AQ"
      | "AR"
      | "AS"
      | "AT"
      | "AU"
      | "AW"
      | "AX"
      | "AZ"
      | "BA"
      | "BB"
      | "BD"
      | "BE"
      | "BF"
      | "BG"
      | "BH"
      | "BI"
      | "BJ"
      | "BL"
      | "BM"
      | "BN"
      | "BO"
      | "BQ"
      | "BR"
      | "BS"
      | "BT"
      | "BV"
      | "BW"
      | "BY"
      | "BZ"
      | "CA"
      | "CC"
      | "CD"
      | "CF"
      | "CG"
      | "CH"
      | "CI"
      | "CK"
      | "CL"
      | "CM"
      | "CN"
      | "CO"
      | "CR"
      | "CU"
      | "CV"
      | "CW"
      | "CX"
      | "CY"
      | "CZ"
      | "DE"
      | "DJ"
      | "DK"
      | "DM"
      | "DO"
      | "DZ"
      | "EC"
      | "EE"
      | "EG"
      | "EH"
      | "ER"
      | "ES"
      | "ET"
      | "FI"
      | "FJ"
      | "FK"
      | "FM"
      | "FO"
      | "FR"
      | "GA"
      | "GB"
      | "GD"
      | "GE"
      | "GF"
      | "GG"
      | "GH"
      | "GI"
      | "GL"
      | "GM"
      | "GN"
      | "GP"
      | "GQ"
      | "GR"
      | "GS"
      | "GT"
      | "GU"
      | "GW"
      | "GY"
      | "HK"
      | "HM"
      | "HN"
      | "HR"
      | "HT"
      | "HU"
      | "ID"
      | "IE"
      | "IL"
      | "IM"
      | "IN"
      | "IO"
      | "IQ"
      | "IR"
      | "IS"
      | "IT"
      | "JE"
      | "JM"
      | "JO"
      | "JP"
      | "KE"
      | "KG"
      | "KH"
      | "KI"
      | "KM"
      | "KN"
      | "KP"
      | "KR"
      | "KW"
      | "KY"
      | "KZ"
      | "LA"
      | "LB"
      | "LC"
      | "LI"
      | "LK"
      | "LR"
      | "LS"
      | "LT"
      | "LU"
      | "LV"
      | "LY"
      | "MA"
      | "MC"
      | "MD"
      | "ME"
      | "MF"
      | "MG"
      | "MH"
      | "MK"
      | "ML"
      | "MM"
      | "MN"
      | "MO"
      | "MP"
      | "MQ"
      | "MR"
      | "MS"
      | "MT"
      | "MU"
      | "MV"
      | "MW"
      | "MX"
      | "MY"
      | "MZ"
      | "NA"
      | "NC"
      | "NE"
      | "NF"
      | "NG"
      | "NI"
      | "NL"
      | "NO"
      | "NP"
      | "NR"
      | "NU"
      | "NZ"
      | "OM"
      | "PA"
      | "PE"
      | "PF"
      | "PG"
      | "PH"
      | "PK"
      | "PL"
      | "PM"
      | "PN"
      | "PR"
      | "PS"
      | "PT"
      | "PW"
      | "PY"
      | "QA"
      | "RE"
      | "RO"
      | "RS"
      | "RU"
      | "RW"
      | "SA"
      | "SB"
      | "SC"
      | "SD"
      | "SE"
      | "SG"
      | "SH"
      | "SI"
      | "SJ"
      | "SK"
      | "SL"
      | "SM"
      | "SN"
      | "SO"
      | "SR"
      | "SS"
      | "ST"
      | "SV"
      | "SX"
      | "SY"
      | "SZ"
      | "TC"
      | "TD"
      | "TF"
      | "TG"
      | "TH"
      | "TJ"
      | "TK"
      | "TL"
      | "TM"
      | "TN"
      | "TO"
      | "TR"
      | "TT"
      | "TV"
      | "TW"
      | "TZ"
      | "UA"
      | "UG"
      | "UM"
      | "US"
      | "UY"
      | "UZ"
      | "VA"
      | "VC"
      | "VE"
      | "VG"
      | "VI"
      | "VN"
      | "VU"
      | "WF"
      | "WS"
      | "YE"
      | "YT"
      | "ZA"
      | "ZM"
      | "ZW";
  }[];
  /**
   * Random value chosen by the retailer for this request (16 to 128 characters of base64url alphabet). A retailer id and nonce pair is accepted once.
   */
  nonce: string;
  /**
   * When the retailer made the request (RFC 3339).
   */
  created_at: string;
}
