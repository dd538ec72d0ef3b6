import type { FastifyReply } from 'fastify';
import { contentDisposition } from './filename.js';

/** The headers of a file's bytes, as every download sends them (a text type says its charset). */
export function setFileHeaders(reply: FastifyReply, file: { mimeType: string; filename: string }, length: number) {
  reply
    .header('content-type', file.mimeType.startsWith('text/') ? `${file.mimeType}; charset=utf-8` : file.mimeType)
    .header('content-length', length)
    .header('content-disposition', contentDisposition(file.filename));
}
