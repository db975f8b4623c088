/**
 * The unsubscribe group (`sendGrid.asm`) and tracking settings
 * (`sendGrid.trackingSettings`) of a document: accepted in camelCase or the
 * API's snake_case, sent in the API's names, and refused by field name when
 * SendGrid would refuse them or could not mean what they say. What the API
 * receives is covered by integration/provider-options.test.ts.
 */
import type { SendMailOptions } from "nodemailer";
import { SendEmailError, ValidationError } from "../../../../src/shared/errors";
import { readSendGridBlock, readSendGridFields } from "../../../../src/providers/sendgrid/sendgrid-fields";
import { buildSendGridMail } from "../../../../src/providers/sendgrid/sendgrid-payload";
import { caught } from "../../../helpers/caught";

const message: SendMailOptions = { from: "shop@example.com", to: ["ann@example.com"], subject: "S", text: "T" };

describe("sendGrid.asm", () => {
  it.each([
    ["camelCase", { groupId: 123, groupsToDisplay: [123, 456] }],
    ["snake_case", { group_id: 123, groups_to_display: [123, 456] }],
  ])("reads %s and gives the API's names", (_label, asm) => {
    expect(readSendGridBlock({ asm })).toEqual({ asm: { group_id: 123, groups_to_display: [123, 456] } });
  });

  it("needs only the group", () => {
    expect(buildSendGridMail(message, { sendGrid: { asm: { groupId: 7, groupsToDisplay: null } } }, []).body.asm).toEqual({ group_id: 7 });
  });

  it("is left out of the request when the document has none", () => {
    expect(buildSendGridMail(message, { sendGrid: { templateId: "d-1" } }, []).body).not.toHaveProperty("asm");
  });

  it.each<[string, unknown, string]>([
    ["a number", 123, 'Invalid field "sendGrid.asm". Expected a map such as {groupId: 123, groupsToDisplay: [123, 456]}.'],
    ["no group", { groupsToDisplay: [1] }, 'Invalid field "sendGrid.asm.groupId". Expected a positive integer: the unsubscribe group this mail belongs to.'],
    ["a group id as a string", { groupId: "123" }, 'Invalid field "sendGrid.asm.groupId". Expected a positive integer (an unsubscribe group id).'],
    ["a fractional group id", { groupId: 1.5 }, 'Invalid field "sendGrid.asm.groupId". Expected a positive integer (an unsubscribe group id).'],
    ["a group id of 0", { group_id: 0 }, 'Invalid field "sendGrid.asm.group_id". Expected a positive integer (an unsubscribe group id).'],
    ["26 groups to display", { groupId: 1, groupsToDisplay: Array.from({ length: 26 }, (_, i) => i + 1) }, 'Invalid field "sendGrid.asm.groupsToDisplay". Expected an array of 1 to 25 unsubscribe group ids (positive integers, SendGrid\'s limit).'],
    ["an empty list of groups to display", { groupId: 1, groupsToDisplay: [] }, 'Invalid field "sendGrid.asm.groupsToDisplay". Expected an array of 1 to 25 unsubscribe group ids (positive integers, SendGrid\'s limit).'],
    ["a group to display that is a string", { groupId: 1, groupsToDisplay: [1, "2"] }, 'Invalid field "sendGrid.asm.groupsToDisplay". Expected an array of 1 to 25 unsubscribe group ids (positive integers, SendGrid\'s limit).'],
    ["an unknown key", { groupId: 1, enable: true }, 'Invalid field "sendGrid.asm.enable". Expected one of the supported fields groupId, groupsToDisplay.'],
    ["both spellings of one key", { groupId: 1, group_id: 2 }, 'Invalid field "sendGrid.asm.group_id". Expected absent: "sendGrid.asm.groupId" sets the same thing.'],
  ])("refuses %s, naming the field", (_label, asm, text) => {
    const error = caught(ValidationError, () => readSendGridBlock({ asm }));
    expect(error.message).toBe(text);
    expect((error as SendEmailError).code).toBe("invalid-document");
  });
});

describe("sendGrid.trackingSettings", () => {
  it("reads every setting SendGrid documents, in either spelling, and gives the API's names", () => {
    const trackingSettings = {
      clickTracking: { enable: false, enableText: false },
      open_tracking: { enable: true, substitution_tag: "%open%" },
      subscriptionTracking: { enable: true, text: "Unsubscribe: <% %>", html: "<p><% here %></p>", substitutionTag: "[unsub]" },
      ganalytics: { enable: true, utmSource: "mail", utm_medium: "email", utmTerm: "t", utmContent: "c", utmCampaign: "autumn" },
    };
    expect(buildSendGridMail(message, { sendGrid: { trackingSettings } }, []).body.tracking_settings).toEqual({
      click_tracking: { enable: false, enable_text: false },
      open_tracking: { enable: true, substitution_tag: "%open%" },
      subscription_tracking: { enable: true, text: "Unsubscribe: <% %>", html: "<p><% here %></p>", substitution_tag: "[unsub]" },
      ganalytics: { enable: true, utm_source: "mail", utm_medium: "email", utm_term: "t", utm_content: "c", utm_campaign: "autumn" },
    });
  });

  it("reads null settings as absent", () => {
    expect(readSendGridBlock({ trackingSettings: { clickTracking: { enable: false, enableText: null }, openTracking: null } })).toEqual({
      trackingSettings: { click_tracking: { enable: false } },
    });
  });

  it.each<[string, unknown, string]>([
    ["a boolean", true, 'Invalid field "sendGrid.trackingSettings". Expected a map such as {clickTracking: {enable: false}}.'],
    ["a setting that is a boolean", { clickTracking: false }, 'Invalid field "sendGrid.trackingSettings.clickTracking". Expected a map such as {enable: true}.'],
    ["enable as a string", { openTracking: { enable: "false" } }, 'Invalid field "sendGrid.trackingSettings.openTracking.enable". Expected true or false.'],
    ["enable as a number", { click_tracking: { enable: 0 } }, 'Invalid field "sendGrid.trackingSettings.click_tracking.enable". Expected true or false.'],
    ["an unknown setting", { spamCheck: { enable: true } }, 'Invalid field "sendGrid.trackingSettings.spamCheck". Expected one of the supported fields clickTracking, openTracking, subscriptionTracking, ganalytics.'],
    ["an unknown key in a setting", { clickTracking: { enable: true, trackAll: true } }, 'Invalid field "sendGrid.trackingSettings.clickTracking.trackAll". Expected one of the supported fields enable, enableText.'],
    ["a UTM value that is a number", { ganalytics: { enable: true, utmCampaign: 2026 } }, 'Invalid field "sendGrid.trackingSettings.ganalytics.utmCampaign". Expected a string of at most 1000 characters.'],
    ["an over-long footer", { subscriptionTracking: { html: "x".repeat(10_001) } }, 'Invalid field "sendGrid.trackingSettings.subscriptionTracking.html". Expected a string of at most 10000 characters.'],
    ["both spellings of one setting", { clickTracking: { enable: true }, click_tracking: { enable: false } }, 'Invalid field "sendGrid.trackingSettings.click_tracking". Expected absent: "sendGrid.trackingSettings.clickTracking" sets the same thing.'],
  ])("refuses %s, naming the field", (_label, trackingSettings, text) => {
    expect(caught(ValidationError, () => readSendGridBlock({ trackingSettings })).message).toBe(text);
  });

  it.each([
    ["bypassListManagement", { bypassListManagement: { enable: true } }],
    ["bypass_unsubscribe_management", { bypass_unsubscribe_management: { enable: true } }],
    ["mailSettings", { mailSettings: { bypassListManagement: { enable: true } } }],
  ])("cannot carry a mail setting (%s), even where ALLOW_SENDGRID_BYPASS allows bypass settings", (key, trackingSettings) => {
    const error = caught(ValidationError, () => readSendGridFields({ sendGrid: { trackingSettings } }, { document: true, allowBypass: true }));
    expect(error.message).toContain(`"sendGrid.trackingSettings.${key}". Expected one of the supported fields clickTracking`);
  });

  it("leaves the bypass check on mail settings as it was when asm and tracking settings come with them", () => {
    const sendGrid = { asm: { groupId: 1 }, trackingSettings: { subscriptionTracking: { enable: false } }, mailSettings: { bypassUnsubscribeManagement: { enable: true } } };
    expect(caught(ValidationError, () => readSendGridFields({ sendGrid }, { allowBypass: false })).message).toContain("ALLOW_SENDGRID_BYPASS");
    expect(readSendGridFields({ sendGrid }, { allowBypass: true }).sendGrid.mailSettings).toEqual({ bypass_unsubscribe_management: { enable: true } });
  });
});
