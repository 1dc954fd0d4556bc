import { describe, expect, it } from "vitest";
import { settleDelay } from "./settle";

describe("settleDelay", () => {
  it("runs quietMs after the last change", () => {
    // One event at t=1000: run at 1800.
    expect(settleDelay(1000, 1000, 1000, 800, 5000)).toBe(800);
  });

  it("a later event pushes the run to quietMs after it (trailing: the last event is included)", () => {
    // Events at 1000 and 1500; the check runs at 2300, after the second.
    expect(settleDelay(1500, 1500, 1000, 800, 5000)).toBe(800);
  });

  it("a continuous burst still runs by maxMs after the first unhandled change", () => {
    // Pending since 1000, events keep coming; at 5900 the run is due at 6000 at the latest.
    expect(settleDelay(5900, 5900, 1000, 800, 5000)).toBe(100);
    expect(settleDelay(6400, 6400, 1000, 800, 5000)).toBe(0);
  });
});
