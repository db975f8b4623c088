// A fault run makes thousands of expected warnings (lost writes, retried
// writes, expired leases). They are counted, not printed; a run's report
// shows the counts and a sample of the errors.
import { logLines } from "./log-lines";

jest.spyOn(console, "info").mockImplementation(() => undefined);
jest.spyOn(console, "debug").mockImplementation(() => undefined);
jest.spyOn(console, "log").mockImplementation(() => undefined);
jest.spyOn(console, "warn").mockImplementation((...args: unknown[]) => logLines.record("warn", args));
jest.spyOn(console, "error").mockImplementation((...args: unknown[]) => logLines.record("error", args));
