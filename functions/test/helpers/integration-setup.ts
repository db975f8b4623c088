// Tests against real servers include the emulator's first connection
// (several seconds) and its slow transaction contention (see FACTS.md).
jest.setTimeout(60_000);
