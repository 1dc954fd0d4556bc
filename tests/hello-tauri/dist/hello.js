// The same mark Locket's UI sets once its first screen is on the page (the footprint bench reads it).
requestAnimationFrame(() => performance.mark("locket-first-screen"));
