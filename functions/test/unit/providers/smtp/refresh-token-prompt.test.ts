/**
 * scripts/oauth2-refresh-token.js asks for the client secret without showing
 * it: on a terminal (a fake one here, and a real pseudo terminal through
 * util-linux `script`) and when the answers are piped in.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer, type Server } from "node:net";
import { resolve } from "node:path";
import { PassThrough } from "node:stream";

const SCRIPT = resolve(__dirname, "../../../../../scripts/oauth2-refresh-token.js");
const SECRET = "client-secret-MARKER-7f3a";

interface Prompt {
  ask(question: string, options?: { hidden?: boolean }): Promise<string>;
}
const { createPrompt } = require(SCRIPT) as { createPrompt(input: NodeJS.ReadableStream, output: NodeJS.WritableStream): Prompt };

/** A terminal as the script sees it: raw mode can be switched, and each key arrives as typed. */
class FakeTerminal extends PassThrough {
  readonly isTTY = true;
  raw = false;
  readonly modes: boolean[] = [];
  setRawMode(raw: boolean): this {
    this.raw = raw;
    this.modes.push(raw);
    return this;
  }
}

function screen(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = "";
  stream.on("data", (chunk: Buffer) => (text += chunk));
  return { stream, text: () => text };
}

/** Resolves once `question` is on the screen, so that typing starts when a person could. */
async function questionShown(stream: PassThrough, text: () => string, question: string): Promise<void> {
  while (!text().includes(question)) await once(stream, "data");
}

describe("the prompt on a terminal", () => {
  it("does not echo a hidden answer, and honours backspace", async () => {
    const input = new FakeTerminal();
    const output = screen();
    const answer = createPrompt(input, output.stream).ask("Client secret: ", { hidden: true });
    await questionShown(output.stream, output.text, "Client secret: ");
    expect(input.raw).toBe(true);
    for (const key of [...SECRET, "x", "\u007f", "\u001b[D", "\r"]) input.write(key);

    expect(await answer).toBe(SECRET);
    expect(output.text()).toBe("Client secret: \n");
    expect(input.modes).toEqual([true, false]);
  });

  it("echoes a visible answer itself, since raw mode turns the terminal's echo off", async () => {
    const input = new FakeTerminal();
    const output = screen();
    const answer = createPrompt(input, output.stream).ask("Client ID: ");
    input.write("abd\u007fc\r");
    expect(await answer).toBe("abc");
    expect(output.text()).toBe("Client ID: abd\b \bc\n");
  });

  it("Ctrl+C cancels and gives the terminal back", async () => {
    const input = new FakeTerminal();
    const answer = createPrompt(input, screen().stream).ask("Client secret: ", { hidden: true });
    input.write("abc\u0003");
    await expect(answer).rejects.toThrow("Cancelled.");
    expect(input.raw).toBe(false);
  });
});

describe("the prompt with piped input", () => {
  it("reads one answer per line, even when both lines arrive at once", async () => {
    const input = new PassThrough();
    const output = screen();
    const prompt = createPrompt(input, output.stream);
    input.end(`client-id\r\n${SECRET}\n`);
    expect(await prompt.ask("Client ID: ")).toBe("client-id");
    expect(await prompt.ask("Client secret: ", { hidden: true })).toBe(SECRET);
    expect(output.text()).not.toContain(SECRET);
  });

  it("an input that ends gives an empty answer instead of waiting forever", async () => {
    const input = new PassThrough();
    input.end();
    expect(await createPrompt(input, screen().stream).ask("Client ID: ")).toBe("");
  });
});

describe("the script in a pseudo terminal", () => {
  let busy: Server;
  beforeAll(async () => {
    // The script stops at its redirect listener once the secret is read, so it needs no browser here.
    busy = createServer().listen(0, "127.0.0.1");
    await once(busy, "listening");
  });
  afterAll(() => new Promise((done) => busy.close(done)));

  it("never shows the client secret typed at its prompt", async () => {
    const port = (busy.address() as { port: number }).port;
    const child = spawn("script", ["-qfec", `"${process.execPath}" "${SCRIPT}" google --port ${port}`, "/dev/null"], {
      env: { PATH: process.env.PATH, CLIENT_ID: "client-id-1" },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let terminal = "";
    const shown = new Promise<void>((found) =>
      child.stdout.on("data", (chunk: Buffer) => {
        terminal += chunk;
        if (terminal.includes("client secret (not shown): ")) found();
      }),
    );
    const exited = once(child, "exit") as Promise<[number | null]>;
    await Promise.race([shown, exited]);
    child.stdin.write(`${SECRET}\r`);
    const [code] = await exited;

    expect(terminal).toContain(`Cannot listen on port ${port}`);
    expect(code).toBe(1);
    expect(terminal).not.toContain(SECRET);
    expect(terminal).not.toContain(SECRET.slice(0, 8));
  });
});
