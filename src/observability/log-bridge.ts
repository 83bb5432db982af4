import { context } from '@opentelemetry/api';
import { logs, SeverityNumber, type AnyValueMap } from '@opentelemetry/api-logs';
import type { DestinationStream } from 'pino';

/** pino's numeric levels and their OpenTelemetry severities. */
const severities: Record<number, { number: SeverityNumber; text: string }> = {
  10: { number: SeverityNumber.TRACE, text: 'TRACE' },
  20: { number: SeverityNumber.DEBUG, text: 'DEBUG' },
  30: { number: SeverityNumber.INFO, text: 'INFO' },
  40: { number: SeverityNumber.WARN, text: 'WARN' },
  50: { number: SeverityNumber.ERROR, text: 'ERROR' },
  60: { number: SeverityNumber.FATAL, text: 'FATAL' },
};

/** Fields every line has, kept out of the record's attributes. */
const envelope = new Set(['level', 'time', 'msg', 'service']);

/**
 * A pino destination that writes each line to `out` (stdout) as before and also emits it as an OpenTelemetry log
 * record, in the context of the call that logged it, so Application Insights ties the line to its trace. Lines
 * arrive already redacted by the logger.
 */
export function telemetryLogDestination(out: DestinationStream): DestinationStream {
  const logger = logs.getLogger('email-connector');
  return {
    write(line: string) {
      out.write(line);
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      const severity = severities[Number(record.level)] ?? severities[30]!;
      const attributes: AnyValueMap = {};
      for (const [name, value] of Object.entries(record)) {
        if (envelope.has(name) || value === null || value === undefined) continue;
        attributes[name] =
          typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
            ? value
            : JSON.stringify(value);
      }
      logger.emit({
        severityNumber: severity.number,
        severityText: severity.text,
        body: typeof record.msg === 'string' ? record.msg : '',
        attributes,
        timestamp: typeof record.time === 'string' ? new Date(record.time) : new Date(),
        context: context.active(),
      });
    },
  };
}
