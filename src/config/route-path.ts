/**
 * Paths that every Express path parser takes literally (path-to-regexp 0.1 in Express 4, 8 in Express 5): letters,
 * digits, `/` and `. _ ~ - & , ; = @ '`. Route syntax (`: * ( ) + ! $ ? [ ] { }`) is refused at construction,
 * where Express 5 would throw a raw PathError, and Express 4 would build a route that does not match the path as
 * written.
 */
export const LITERAL_ROUTE_PATH = /^\/[A-Za-z0-9._~&,;=@'/-]*$/;

/** How {@link LITERAL_ROUTE_PATH} is described in error messages. */
export const LITERAL_ROUTE_PATH_TEXT =
  'a literal path starting with "/", of letters, digits and / . _ ~ - & , ; = @ \' (route syntax such as : * ( ) + ! $ is not allowed)';
