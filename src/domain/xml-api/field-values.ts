import { classifyEmailField } from '../addresses.ts';
import type { XmlFieldSpec } from './data-kinds.ts';
import type { XmlColumnValue } from './xml-transaction.ts';

const datetime =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

function isDatetime(value: string): boolean {
  const match = datetime.exec(value);
  if (!match) return false;
  const [, , month, day, hour, minute, second] = match.map(Number);
  return (
    month! >= 1 &&
    month! <= 12 &&
    day! >= 1 &&
    day! <= 31 &&
    (hour === undefined || Number.isNaN(hour) || hour < 24) &&
    (minute === undefined || Number.isNaN(minute) || minute < 60) &&
    (second === undefined || Number.isNaN(second) || second < 60)
  );
}

const timeOfDay = /^(\d{2}):(\d{2})(?::(\d{2}))?$/;

function isTime(value: string): boolean {
  const match = timeOfDay.exec(value);
  if (!match) return isDatetime(value);
  const [, hour, minute, second] = match.map(Number);
  return hour! < 24 && minute! < 60 && (second === undefined || Number.isNaN(second) || second < 60);
}

const flags: Readonly<Record<string, number>> = {
  y: 1,
  yes: 1,
  true: 1,
  '1': 1,
  n: 0,
  no: 0,
  false: 0,
  '0': 0,
};

/** Checks one non-empty value against its field; the result is what the column stores. */
export function convertFieldValue(
  field: XmlFieldSpec,
  value: string,
): { ok: true; value: XmlColumnValue } | { ok: false; message: string } {
  if (value.length > field.maxLength) {
    return { ok: false, message: `${field.code} is longer than ${field.maxLength} characters` };
  }
  switch (field.type) {
    case 'text':
      return { ok: true, value };
    case 'id':
      return /[\r\n\t]/.test(value)
        ? { ok: false, message: `${field.code} must be a record id on one line` }
        : { ok: true, value };
    case 'email':
      return classifyEmailField(value)
        ? { ok: true, value }
        : {
            ok: false,
            message: `${field.code} must be an email address or a bare domain such as acme.example`,
          };
    case 'datetime':
      return isDatetime(value)
        ? { ok: true, value }
        : { ok: false, message: `${field.code} must be a date such as 2025-03-31 or 2025-03-31T14:30:00` };
    case 'time':
      return isTime(value)
        ? { ok: true, value }
        : { ok: false, message: `${field.code} must be a time such as 14:30 or 2025-03-31T14:30:00` };
    case 'digits':
      return /^\d+$/.test(value)
        ? { ok: true, value }
        : { ok: false, message: `${field.code} must be digits only, such as 0000042` };
    case 'decimal':
      return /^-?\d{1,15}(?:\.\d{1,6})?$/.test(value)
        ? { ok: true, value }
        : { ok: false, message: `${field.code} must be a number such as 1.5 (digits and one dot)` };
    case 'flag': {
      // Own keys only: `constructor` is not a flag.
      const key = value.toLowerCase();
      return Object.hasOwn(flags, key)
        ? { ok: true, value: flags[key] ?? null }
        : { ok: false, message: `${field.code} must be Y or N` };
    }
    case 'choice': {
      const choices = field.choices ?? {};
      const key = value.toUpperCase();
      return Object.hasOwn(choices, key)
        ? { ok: true, value: choices[key] ?? null }
        : { ok: false, message: `${field.code} must be one of ${Object.keys(choices).join(', ')}` };
    }
  }
}
