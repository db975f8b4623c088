/** The composition root: one runtime per instance (each part built on first use), handed to the functions. */
import { extensionFunctions } from "./handlers/functions";
import { createRuntime } from "./handlers/runtime";

export const { processQueue, maintainQueue, webhooks } = extensionFunctions(createRuntime());
