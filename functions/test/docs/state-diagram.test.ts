/**
 * The picture of a mail's life in docs/how-it-works.md is checked against the
 * code: every transition the extension writes (the one table in
 * lifecycle/transitions.ts) must be an arrow of the diagram, and every state
 * the diagram draws must be a state of the delivery contract.
 */
import { EVENTS_BY_TRANSITION } from "../../src/lifecycle/transitions";
import { STATES } from "../../src/shared/types";
import { allCodeBlocks } from "./doc-examples";

const diagram = allCodeBlocks().find((block) => block.page === "docs/how-it-works.md" && block.lang === "mermaid");

/** `A --> B: label` lines, with `[*]` standing for "no delivery yet" and "the end". */
function arrows(code: string): Array<[string, string]> {
  return [...code.matchAll(/^\s*(\[\*\]|[A-Z]+)\s*-->\s*(\[\*\]|[A-Z]+)/gm)].map((m) => [m[1], m[2]]);
}

describe("the state diagram in docs/how-it-works.md", () => {
  test("is there, as a mermaid block", () => {
    expect(diagram).toBeDefined();
  });

  test("draws every transition the extension writes", () => {
    const drawn = new Set(arrows(diagram!.code).map(([from, to]) => `${from}>${to}`));
    // A mail without a delivery, or with one the extension cannot read, starts at [*].
    const written = Object.keys(EVENTS_BY_TRANSITION).map((key) => key.replace(/^(new|unknown)>/, "[*]>"));
    expect(written.filter((transition) => !drawn.has(transition))).toEqual([]);
  });

  test("draws only the contract's states", () => {
    const states = new Set(arrows(diagram!.code).flat());
    states.delete("[*]");
    expect([...states].filter((state) => !(STATES as readonly string[]).includes(state))).toEqual([]);
    expect([...STATES].filter((state) => !states.has(state))).toEqual([]);
  });
});
