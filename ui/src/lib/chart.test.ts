import { describe, expect, it } from "vitest";
import { axisLabel, axisPadding, textWidth } from "./chart";

describe("axis padding", () => {
  it("leaves room for the widest tick label so large counts are not clipped", () => {
    const font = 11;
    for (const max of [1, 10, 500, 5000, 50000, 2000000]) {
      const labels = [0, max / 2, max].map(axisLabel);
      const pad = axisPadding(labels, font);
      // The right-aligned label ends `gap` (6) left of the plot; its start must be inside the drawing.
      for (const l of labels) expect(pad - 6 - textWidth(l, font)).toBeGreaterThanOrEqual(0);
    }
  });

  it("grows with the label and keeps a minimum", () => {
    expect(axisPadding(["0", "1"], 11)).toBe(28);
    expect(axisPadding(["5,000"], 11)).toBeGreaterThan(axisPadding(["500"], 11));
    expect(axisPadding(["2,000,000"], 11)).toBeGreaterThan(axisPadding(["50,000"], 11));
  });

  it("labels counts with thousands separators", () => {
    expect(axisLabel(5000)).toBe("5,000");
    expect(axisLabel(0)).toBe("0");
  });
});
