/**
 * multipart/form-data bodies, as a browser's file upload sends them: only text fields are kept
 * (a definitions file is JSON), each by its name. The body is already limited in size by the
 * server, and split in linear time.
 */
export interface MultipartBody {
  readonly multipart: true;
  readonly parts: Map<string, string>;
}

export function isMultipart(body: unknown): body is MultipartBody {
  return typeof body === "object" && body !== null && (body as { multipart?: unknown }).multipart === true;
}

/** The boundary of a multipart/form-data content type, or undefined for any other type. */
export function multipartBoundary(contentType: string | undefined): string | undefined {
  if (contentType === undefined || !/^multipart\/form-data/i.test(contentType)) return undefined;
  const match = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return match?.[1] ?? match?.[2];
}

export function parseMultipart(body: string, boundary: string): MultipartBody {
  const parts = new Map<string, string>();
  for (const chunk of body.split(`--${boundary}`)) {
    const headerEnd = chunk.indexOf("\r\n\r\n");
    if (headerEnd < 0) continue;
    const headers = chunk.slice(0, headerEnd);
    const name = /name="([^"]*)"/i.exec(headers)?.[1];
    if (name === undefined) continue;
    // The part's content ends before the CRLF that precedes the next boundary.
    let content = chunk.slice(headerEnd + 4);
    if (content.endsWith("\r\n")) content = content.slice(0, -2);
    parts.set(name, content);
  }
  return { multipart: true, parts };
}
