/**
 * Entry point: wires the extension's triggers to their handlers, nothing
 * more. Reading the params here must not throw, so that a misconfigured
 * instance still loads and reports the problem on each mail document.
 */
import { onDocumentWritten } from "firebase-functions/v2/firestore";
import { handleMailWrite } from "./handlers/process-queue";

export const processQueue = onDocumentWritten(
  {
    document: `${process.env.MAIL_COLLECTION || "mail"}/{documentId}`,
    database: process.env.DATABASE || "(default)",
  },
  handleMailWrite,
);
