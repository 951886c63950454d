/**
 * Erlang's rendering of a binary, which RabbitMQ puts in its frame error texts: <<"abc">> when
 * every byte is printable, <<0,20,0,10>> otherwise. Clients and tests match these texts.
 */
export function erlangBinary(bytes: Buffer): string {
  if (bytes.length === 0) return "<<>>";
  // Reply texts are cut to 255 bytes, so rendering more than 256 octets (each at least one
  // character) is wasted work: a 128 KiB frame would cost half a megabyte of string.
  const shown = bytes.length > RENDERED_OCTETS_MAX ? bytes.subarray(0, RENDERED_OCTETS_MAX) : bytes;
  if (bytes.every((b) => b >= 0x20 && b <= 0x7e)) {
    return `<<"${shown.toString("latin1").replace(/["\\]/g, (c) => "\\" + c)}">>`;
  }
  return `<<${[...shown].join(",")}>>`;
}

const RENDERED_OCTETS_MAX = 256;
/** RabbitMQ quotes at most this many octets of a frame in its frame error texts. */
const QUOTED_FRAME_OCTETS = 16;

/**
 * "type T, all octets = <<...>>" (or "first 16 octets" for a longer payload): how RabbitMQ names
 * a frame in FRAME_ERROR / UNEXPECTED_FRAME.
 */
export function describeFrame(type: number, payload: Buffer): string {
  if (payload.length > QUOTED_FRAME_OCTETS) {
    return `type ${type}, first ${QUOTED_FRAME_OCTETS} octets = ${erlangBinary(payload.subarray(0, QUOTED_FRAME_OCTETS))}`;
  }
  return `type ${type}, all octets = ${erlangBinary(payload)}`;
}
