import type {} from '@fastify/multipart';
import type { Readable } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import { PayloadTooLargeError } from '../common/errors.js';
import { AppError, ValidationFailedError } from '../common/problem.js';

/** The file part of a form, as it arrives. */
export interface IncomingFile {
  filename: string;
  declaredType: string;
  stream: Readable;
}

export interface ReceivedUpload<T> {
  fields: Record<string, string[]>;
  file: T;
}

/**
 * Reads a multipart upload as it arrives: the one `file` part is handed to
 * `receive` as a stream (which stores it), other parts are form fields,
 * before or after the file. When anything fails after the file was received,
 * `discard` undoes it: an aborted or refused upload leaves nothing.
 */
export async function readMultipartUpload<T>(
  request: FastifyRequest,
  receive: (file: IncomingFile) => Promise<T>,
  discard: (received: T) => Promise<void>,
): Promise<ReceivedUpload<T>> {
  const fields: Record<string, string[]> = {};
  let file: { value: T } | undefined;
  try {
    for await (const part of request.parts()) {
      if (part.type === 'field') {
        (fields[part.fieldname] ??= []).push(String(part.value));
        continue;
      }
      if (part.fieldname !== 'file' || file) {
        part.file.resume();
        throw new ValidationFailedError([
          { field: part.fieldname, message: 'send exactly one file, in the field "file"' },
        ]);
      }
      file = {
        value: await receive({
          // Browsers send `"`, CR and LF in a file name as %22, %0D and %0A (the HTML form encoding).
          filename: part.filename.replace(/%22/g, '"').replace(/%0D/gi, '\r').replace(/%0A/gi, '\n'),
          declaredType: part.mimetype,
          stream: part.file,
        }),
      };
    }
  } catch (error) {
    if (file) await discard(file.value).catch(() => undefined);
    if (error instanceof AppError) throw error;
    const code = (error as { code?: string }).code;
    if (code === 'FST_FILES_LIMIT' || code === 'FST_PARTS_LIMIT' || code === 'FST_FIELDS_LIMIT') {
      throw new PayloadTooLargeError('The form has too many parts: send one file and at most a title and tags.');
    }
    throw new AppError(400, 'upload-incomplete', 'The upload ended before the form was complete.');
  }
  if (!file) throw new ValidationFailedError([{ field: 'file', message: 'a file is required' }]);
  return { fields, file: file.value };
}
