// The end-to-end tier talks to the whole Emulator Suite: cold function starts
// take seconds. Each wait inside a test has its own, shorter bound.
jest.setTimeout(120_000);
