import { createHash } from 'node:crypto';
import type { MultipartFile } from '@fastify/multipart';
import type { FastifyRequest } from 'fastify';
import { PayloadTooLargeError } from '../common/errors.js';
import { AppError, ValidationFailedError } from '../common/problem.js';

export interface ReceivedFile {
  filename: string;
  declaredType: string;
  data: Buffer;
  sha256: string;
}

export interface ReceivedUpload {
  fields: Record<string, string[]>;
  file: ReceivedFile;
}

/**
 * Reads a multipart upload as it arrives: the one `file` part is hashed and
 * measured chunk by chunk into a single buffer (grown only when the size is
 * unknown), and refused the moment it passes `maxBytes`. Other parts are
 * form fields. Nothing is stored here: an aborted upload leaves nothing.
 */
export async function readMultipartUpload(request: FastifyRequest, maxBytes: number): Promise<ReceivedUpload> {
  const fields: Record<string, string[]> = {};
  let file: ReceivedFile | undefined;
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
      file = await readFile(part, request, maxBytes);
    }
  } catch (error) {
    if (error instanceof AppError) throw error;
    const code = (error as { code?: string }).code;
    if (code === 'FST_FILES_LIMIT' || code === 'FST_PARTS_LIMIT' || code === 'FST_FIELDS_LIMIT') {
      throw new PayloadTooLargeError('The form has too many parts: send one file and at most a title and tags.');
    }
    throw new AppError(400, 'upload-incomplete', 'The upload ended before the form was complete.');
  }
  if (!file) throw new ValidationFailedError([{ field: 'file', message: 'a file is required' }]);
  return { fields, file };
}

async function readFile(part: MultipartFile, request: FastifyRequest, maxBytes: number): Promise<ReceivedFile> {
  const declaredLength = Number(request.headers['content-length']);
  let buffer = Buffer.allocUnsafe(
    Number.isFinite(declaredLength) && declaredLength > 0
      ? Math.min(declaredLength, maxBytes)
      : Math.min(maxBytes, 64 * 1024),
  );
  let size = 0;
  const hash = createHash('sha256');
  for await (const chunk of part.file as AsyncIterable<Buffer>) {
    if (size + chunk.length > buffer.length) {
      const grown = Buffer.allocUnsafe(Math.min(Math.max(buffer.length * 2, size + chunk.length), maxBytes));
      buffer.copy(grown, 0, 0, size);
      buffer = grown;
    }
    chunk.copy(buffer, size);
    size += chunk.length;
    hash.update(chunk);
  }
  // The parser stops the file at maxBytes and marks it truncated.
  if (part.file.truncated) {
    throw new PayloadTooLargeError(`The file is larger than the ${maxBytes}-byte limit.`);
  }
  return {
    // Browsers send `"`, CR and LF in a file name as %22, %0D and %0A (the HTML form encoding).
    filename: part.filename.replace(/%22/g, '"').replace(/%0D/gi, '\r').replace(/%0A/gi, '\n'),
    declaredType: part.mimetype,
    data: buffer.subarray(0, size),
    sha256: hash.digest('hex'),
  };
}
