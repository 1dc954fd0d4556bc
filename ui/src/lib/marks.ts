/**
 * Performance marks for start-up measurements (the footprint bench, tests/e2e/benches/footprint.rs, reads them
 * over WebDriver): each is set once per page load, when its screen is first on the page.
 */
export type Mark = "locket-first-screen" | "locket-unlocked-screen";

export function markOnce(name: Mark): void {
  if (performance.getEntriesByName(name).length === 0) performance.mark(name);
}
