// The consent card's "what you get, and who else gets it": the benefit the shop offers in return and every
// company beyond the shop that its request says receives the data. Both are the shop's words, shown as its
// claim; Locket records them in the consent receipt when the owner approves.
import type { Benefit, Recipient } from "../generated/ipc";
import { benefitWords, recipientDetail, recipientNeedsCare, recipientsSummary, roleTag } from "../lib/exchange";

export function ValueExchange(props: { shop: string; benefit: Benefit | null; recipients: Recipient[] }) {
  const b = benefitWords(props.benefit);
  const others = props.recipients;
  return (
    <section className="exchange" aria-label="What you get and who else gets your data" data-testid="value-exchange">
      <div className={`exchange-part exchange-benefit ${b.none ? "is-none" : ""}`} data-testid="benefit">
        <h3>What you get in return</h3>
        <p className="exchange-headline" data-testid="benefit-headline">
          {!b.none && (
            <span className="exchange-icon" aria-hidden="true">
              ✦
            </span>
          )}
          {b.headline}
        </p>
        {b.shopWords && (
          <p className="muted small" data-testid="benefit-shop-words">
            In {props.shop}’s words: “{b.shopWords}”
          </p>
        )}
      </div>
      <div className="exchange-part exchange-recipients" data-testid="recipients">
        <h3>Who else gets your data</h3>
        <p className={others.length === 0 ? "exchange-headline" : "exchange-summary"} data-testid="recipients-summary">
          {recipientsSummary(others)}
        </p>
        {others.length > 0 && (
          <ul className="recipient-list">
            {others.map((r, i) => {
              const tag = roleTag(r.role);
              return (
                <li
                  key={`${i}-${r.name}`}
                  className={`recipient ${recipientNeedsCare(r) ? "needs-care" : ""}`}
                  data-testid="recipient"
                  data-role={r.role}
                >
                  <span className="recipient-name">
                    {r.name}
                    <span className={`tag tag-role is-${tag.tone}`}>{tag.label}</span>
                  </span>
                  <span className="muted small">{recipientDetail(r)}</span>
                </li>
              );
            })}
          </ul>
        )}
      </div>
      <p className="muted small exchange-claim" data-testid="exchange-claim">
        Both are {props.shop}’s own statements: Locket cannot check them. If you approve, they are written into your
        consent receipt.
      </p>
    </section>
  );
}
