// Tests against real servers include the emulator's first connection
// (several seconds) and its slow transaction contention (see FACTS.md).
jest.setTimeout(60_000);

// The extension logs every delivery at info level; in tests those lines bury
// the ones that matter. Warnings and errors still print.
jest.spyOn(console, "info").mockImplementation(() => undefined);
jest.spyOn(console, "debug").mockImplementation(() => undefined);
