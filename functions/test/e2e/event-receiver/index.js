/**
 * End-to-end tier only (loaded by scripts/e2e.js as a second functions
 * codebase): one Eventarc trigger per lifecycle event of the extension, each
 * recording the CloudEvent it receives in the `e2e-events` collection, where
 * test/e2e/events.test.ts waits for it. Plain JavaScript, so the tier needs
 * no second build; firebase-functions and firebase-admin resolve from
 * functions/node_modules.
 */
"use strict";

const { onCustomEventPublished } = require("firebase-functions/v2/eventarc");
const { initializeApp } = require("firebase-admin/app");
const { getFirestore, FieldValue } = require("firebase-admin/firestore");

initializeApp();

const TYPES = ["onStart", "onPending", "onRetry", "onProcessing", "onSuccess", "onError", "onComplete"];

for (const type of TYPES) {
  exports[`record${type[0].toUpperCase()}${type.slice(1)}`] = onCustomEventPublished(
    { eventType: `firebase.extensions.firestore-send-email.v1.${type}` },
    async (event) => {
      await getFirestore()
        .collection("e2e-events")
        .add({
          type: event.type,
          subject: event.subject ?? null,
          source: event.source ?? null,
          id: event.id,
          data: event.data ?? null,
          receivedAt: FieldValue.serverTimestamp(),
        });
    },
  );
}
