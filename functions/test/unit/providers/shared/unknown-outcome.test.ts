import { DeliveryError } from "../../../../src/shared/errors";
import { handedOverWithoutAnswer, OUTCOME_UNKNOWN_NOTE } from "../../../../src/providers/shared/unknown-outcome";

describe("handedOverWithoutAnswer", () => {
  it("is outcome-unknown and never transient, so no automatic attempt follows", () => {
    const error = handedOverWithoutAnswer("SendGrid");
    expect(error).toBeInstanceOf(DeliveryError);
    expect(error).toMatchObject({ code: "outcome-unknown", transient: false });
  });

  it("says who may have accepted the mail, why it was not sent again, and how to send it again", () => {
    const { message } = handedOverWithoutAnswer("The SMTP server");
    expect(message).toContain(`The SMTP server ${OUTCOME_UNKNOWN_NOTE} the mail`);
    expect(message).toContain("not delivered twice");
    expect(message).toContain("set delivery.state to RETRY");
  });

  it.each([
    [undefined, "then the connection ended before it answered."],
    [300, "then it did not answer within 300 ms."],
    [40_000, "then it did not answer within 40 s."],
  ])("describes the silence (deadline %p)", (deadlineMs, silence) => {
    expect(handedOverWithoutAnswer("SendGrid", deadlineMs).message).toContain(silence);
  });
});
