// The consent card's benefit and recipients, rendered as the owner sees them (static markup, no DOM needed).
import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import type { Benefit, Recipient } from "../generated/ipc";
import { ValueExchange } from "./ValueExchange";

function recipient(over: Partial<Recipient> = {}): Recipient {
  return {
    name: "Parcel Express Ltd",
    role: "processor",
    roleWords: "works for the shop",
    purpose: "delivery",
    purposeText: null,
    marketingOrProfiling: false,
    country: "DE",
    countryName: "Germany",
    ...over,
  };
}

function render(benefit: Benefit | null, recipients: Recipient[]): string {
  return renderToStaticMarkup(createElement(ValueExchange, { shop: "Example Shop", benefit, recipients }));
}

/** The visible text, tags stripped, entities decoded, whitespace collapsed. */
function text(html: string): string {
  return html
    .replace(/<[^>]+>/g, " ")
    .replace(/&#x27;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, "&")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/\s+/g, " ")
    .trim();
}

describe("ValueExchange", () => {
  it("says nothing is offered and nobody else gets the data, the shop says", () => {
    const html = render(null, []);
    const t = text(html);
    expect(t).toContain("What you get in return Nothing. The shop offers nothing in return for your data.");
    expect(t).toContain("Who else gets your data Shared with nobody else, the shop says.");
    expect(t).toContain("Locket cannot check them");
    expect(html).toContain('class="exchange-part exchange-benefit is-none"');
    expect(html).not.toContain('data-testid="recipient"');
  });

  it("shows the offer, the shop's words and every recipient with its role, country and purpose", () => {
    const html = render({ description: "10% off your next order", offer: { kind: "discount_percent", summary: "10% off" } }, [
      recipient({ purposeText: "Delivers your parcel" }),
      recipient({
        name: "Insight Co",
        role: "third_party",
        roleWords: "uses your data for its own purposes",
        purpose: "analytics",
        marketingOrProfiling: true,
        country: "US",
        countryName: "United States",
      }),
    ]);
    const t = text(html);
    expect(t).toContain("10% off In Example Shop’s words: “10% off your next order”");
    expect(t).toContain("The shop says 2 other companies also get your data, 1 for its own purposes.");
    expect(t).toContain("Parcel Express Ltd Service provider Works for the shop · in Germany · used to deliver your orders: “Delivers your parcel”");
    expect(t).toContain("Insight Co Third party Uses your data for its own purposes · in United States");
    expect(html.match(/data-testid="recipient"/g)).toHaveLength(2);
    expect(html).toContain('class="recipient needs-care" data-testid="recipient" data-role="third_party"');
    expect(t).not.toContain("nobody else");
  });

  it("prints the shop's text as text, never as markup", () => {
    const html = render({ description: "<img src=x onerror=alert(1)>", offer: null }, [
      recipient({ name: "<b>Bold</b> & Co" }),
    ]);
    expect(html).not.toContain("<img");
    expect(html).not.toContain("<b>");
    expect(text(html)).toContain("<b>Bold</b> & Co");
  });
});
