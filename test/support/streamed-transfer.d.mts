export function pdfPieces(size: number): Generator<Buffer>;
export function uploadPdfStreamed(
  base: string,
  token: string,
  size: number,
): Promise<{ status: number; body: string; sha256: string }>;
export function downloadStreamed(
  base: string,
  token: string,
  id: string,
): Promise<{ status: number; bytes: number; sha256: string }>;
