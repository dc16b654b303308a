// Typed parsing with @azure/eventgrid: each job.bodies item is one webhook request body exactly as smsgrid
// delivered it. For every event, say whether isSystemEvent recognises it as each SMS type, and echo the typed
// fields of AcsSmsReceivedEventData / AcsSmsDeliveryReportReceivedEventData as the SDK exposes them.
"use strict";
const { answer } = require("./common.cjs");

const RECEIVED = "Microsoft.Communication.SMSReceived";
const REPORT = "Microsoft.Communication.SMSDeliveryReportReceived";

// A typed field the data does not fill is undefined, which JSON would drop: say null, so pytest can name it.
function filled(fields) {
  return Object.fromEntries(Object.entries(fields).map(([key, value]) => [key, value === undefined ? null : value]));
}

answer(async (job) => {
  const { EventGridDeserializer, isSystemEvent } = require("@azure/eventgrid");
  const deserializer = new EventGridDeserializer();
  const events = [];
  for (const body of job.bodies) {
    for (const event of await deserializer.deserializeEventGridEvents(body)) {
      const parsed = {
        id: event.id,
        eventType: event.eventType,
        subject: event.subject,
        eventTimeIsDate: event.eventTime instanceof Date && !Number.isNaN(event.eventTime.getTime()),
        isSmsReceived: isSystemEvent(RECEIVED, event),
        isDeliveryReport: isSystemEvent(REPORT, event),
      };
      if (isSystemEvent(RECEIVED, event)) {
        const { messageId, from, to, message, segmentCount, receivedTimestamp } = event.data;
        parsed.data = filled({ messageId, from, to, message, segmentCount, receivedTimestamp });
      } else if (isSystemEvent(REPORT, event)) {
        const { messageId, from, to, deliveryStatus, deliveryStatusDetails, receivedTimestamp, tag } = event.data;
        const deliveryAttempts = (event.data.deliveryAttempts || []).map((attempt) =>
          filled({
            timestamp: attempt.timestamp,
            segmentsSucceeded: attempt.segmentsSucceeded,
            segmentsFailed: attempt.segmentsFailed,
          }),
        );
        parsed.data = filled({
          messageId, from, to, deliveryStatus, deliveryStatusDetails, deliveryAttempts, receivedTimestamp, tag,
        });
      }
      events.push(parsed);
    }
  }
  return { events };
});
