/** A plain object from any realm (Node's `req.headers` is created outside a vm or test sandbox's realm). */
export function isPlainObjectAnyRealm(value: object): boolean {
  const proto = Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null;
  if (proto === null || proto === Object.prototype) return true;
  return Object.getPrototypeOf(proto) === null && typeof proto.constructor === 'function' && proto.constructor.name === 'Object';
}
