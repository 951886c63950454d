/**
 * Erlang's rendering of a binary, which RabbitMQ puts in its frame error texts: <<"abc">> when
 * every byte is printable, <<0,20,0,10>> otherwise. Clients and tests match these texts.
 */
export function erlangBinary(bytes: Buffer): string {
  if (bytes.length === 0) return "<<>>";
  if (bytes.every((b) => b >= 0x20 && b <= 0x7e)) {
    return `<<"${bytes.toString("latin1").replace(/["\\]/g, (c) => "\\" + c)}">>`;
  }
  return `<<${[...bytes].join(",")}>>`;
}

/** "type T, all octets = <<...>>": how RabbitMQ names a frame in FRAME_ERROR / UNEXPECTED_FRAME. */
export function describeFrame(type: number, payload: Buffer): string {
  return `type ${type}, all octets = ${erlangBinary(payload)}`;
}
