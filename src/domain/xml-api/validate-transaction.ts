import { findDataKind, findField, unsupportedDataKinds } from './data-kinds.ts';
import type { XmlDataKindSpec, XmlFieldSpec } from './data-kinds.ts';
import { convertFieldValue } from './field-values.ts';
import { xmlApiError } from './xml-api-errors.ts';
import type { XmlApiError } from './xml-api-errors.ts';
import type { XmlTransactionEnvelope } from './read-envelope.ts';
import type {
  ValidatedXmlTransaction,
  XmlColumnValue,
  XmlDataKind,
  XmlOperation,
} from './xml-transaction.ts';

export interface XmlValidationSettings {
  /** When set, every transaction must carry it. */
  password: string | null;
  ticketNumberDigits: number;
}

export interface XmlValidationContext {
  /** The id an inserted record gets. */
  newRecordId: string;
  /** Fills a required date the transaction leaves out (e.g. a history note's date). */
  now: Date;
  /**
   * Whether the transaction's password is the configured one, in time that does not depend on either (hashing
   * is I/O-free but not the domain's: processing/xml-api/check-password.ts).
   */
  passwordMatches: (given: string | null, expected: string) => boolean;
}

export type XmlValidation =
  | { ok: true; transaction: ValidatedXmlTransaction }
  | {
      ok: false;
      dataKind: XmlDataKind | null;
      operation: XmlOperation | null;
      recordId: string | null;
      errors: XmlApiError[];
    };

/** More errors than this in one transaction are summarised: the response stays readable. */
const maxErrors = 20;

function refused(
  errors: XmlApiError[],
  dataKind: XmlDataKind | null = null,
  operation: XmlOperation | null = null,
  recordId: string | null = null,
): XmlValidation {
  const shown = errors.slice(0, maxErrors);
  if (errors.length > maxErrors) {
    shown.push(xmlApiError(errors[maxErrors]!.code, `and ${errors.length - maxErrors} more errors`));
  }
  return { ok: false, dataKind, operation, recordId, errors: shown };
}

interface ReadFields {
  recordId: string | null;
  /** Every named field, an empty element as null. */
  given: Map<XmlFieldSpec, XmlColumnValue>;
  errors: XmlApiError[];
}

/** Fields are told apart by column, so a deprecated code and the CRM's code for one field collide. */
const recordIdKey = '#record-id';

function readFields(spec: XmlDataKindSpec, envelope: XmlTransactionEnvelope): ReadFields {
  const read: ReadFields = { recordId: null, given: new Map(), errors: [] };
  const seen = new Map<string, string>();
  for (const element of envelope.recordData ?? []) {
    const code = element.name.toUpperCase();
    const isRecordId = code === spec.recordIdField || spec.recordIdAliases.includes(code);
    const field = isRecordId ? null : findField(spec, code);
    const key = isRecordId ? recordIdKey : (field?.column ?? `?${code}`);
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      const message =
        earlier === code ? `${code} appears more than once` : `${code} and ${earlier} name the same field`;
      read.errors.push(xmlApiError('DUPLICATE_FIELD', message, code));
      continue;
    }
    seen.set(key, code);
    if (!isRecordId && !field) {
      read.errors.push(
        xmlApiError(
          'UNKNOWN_FIELD',
          `${element.name} is not a field of data kind ${spec.dataKind}`,
          element.name,
        ),
      );
      continue;
    }
    if (element.children.length > 0) {
      read.errors.push(xmlApiError('INVALID_VALUE', `${code} must hold text, not elements`, code));
      continue;
    }
    if (!field) {
      if (element.text === '' || /[\r\n\t]/.test(element.text) || element.text.length > 64) {
        read.errors.push(xmlApiError('INVALID_VALUE', `${code} must be a record id`, code));
      } else read.recordId = element.text;
      continue;
    }
    if (element.text === '') {
      read.given.set(field, null);
      continue;
    }
    const converted = convertFieldValue(field, element.text);
    if (converted.ok) read.given.set(field, converted.value);
    else read.errors.push(xmlApiError('INVALID_VALUE', converted.message, code));
  }
  return read;
}

/**
 * Checks one transaction against the settings and its data kind's field table. The password comes
 * first: without it, a caller learns nothing else about the transaction.
 */
export function validateTransaction(
  envelope: XmlTransactionEnvelope,
  envelopeErrors: readonly XmlApiError[],
  settings: XmlValidationSettings,
  context: XmlValidationContext,
): XmlValidation {
  if (settings.password && !context.passwordMatches(envelope.password, settings.password)) {
    return refused([
      xmlApiError(
        'BAD_PASSWORD',
        envelope.password === null ? 'the transaction carries no <Password>' : 'the <Password> is wrong',
        'Password',
      ),
    ]);
  }
  if (envelopeErrors.length > 0) return refused([...envelopeErrors]);
  const kindName = envelope.dataKind ?? '';
  const spec = findDataKind(kindName);
  if (!spec) {
    const unsupported = unsupportedDataKinds.includes(kindName.toUpperCase());
    return refused([
      unsupported
        ? xmlApiError(
            'UNSUPPORTED_DATAKIND',
            `${kindName} is not a data kind of the XML API: write a contact as an ACCOUNT record`,
            'DataKind',
          )
        : xmlApiError('UNKNOWN_DATAKIND', `unknown data kind "${kindName}"`, 'DataKind'),
    ]);
  }

  const { recordId, given, errors } = readFields(spec, envelope);
  const operation: XmlOperation = recordId === null ? 'insert' : 'update';
  const values: Record<string, XmlColumnValue> = {};
  if (operation === 'insert') {
    for (const [field, value] of given) if (value !== null) values[field.column] = value;
    for (const group of spec.requiredOnInsert) {
      // By column: a deprecated code for the same column counts.
      const present = group.some((code) => {
        const field = findField(spec, code);
        return field !== null && values[field.column] !== undefined;
      });
      if (!present) {
        const names = group.join(' or ');
        errors.push(xmlApiError('MISSING_FIELD', `a new ${spec.dataKind} needs ${names}`, group[0]!));
      }
    }
    for (const [target, source] of spec.insertCopies) {
      if (values[target] === undefined && values[source] !== undefined) values[target] = values[source];
    }
    for (const [column, value] of Object.entries(spec.insertDefaults)) values[column] ??= value;
    for (const field of spec.fields) {
      if (field.defaultNow) values[field.column] ??= context.now.toISOString();
    }
  } else {
    for (const [field, value] of given) {
      if (value === null && field.notNull) {
        errors.push(xmlApiError('INVALID_VALUE', `${field.code} cannot be emptied`, field.code));
      } else values[field.column] = value;
    }
    if (given.size === 0 && errors.length === 0) {
      errors.push(xmlApiError('MISSING_FIELD', `an update of ${spec.dataKind} must name at least one field`));
    }
  }
  if (errors.length > 0) return refused(errors, spec.dataKind, operation, recordId);
  return {
    ok: true,
    transaction: {
      dataKind: spec.dataKind,
      operation,
      recordId: recordId ?? context.newRecordId,
      values,
      ticketNumberDigits: settings.ticketNumberDigits,
    },
  };
}
