/**
 * An endpoint URL for a landing zone's config: http(s), with no user:password and no query string. A
 * URL is shown in describe(), run summaries and error messages, which secrets never reach; a SAS token
 * or password pasted into it would, so it is refused here and belongs in its own secret field.
 */
import { z } from 'zod';

export const endpointUrl = () =>
  z.url({ protocol: /^https?$/ }).refine(
    (u) => {
      const url = new URL(u);
      return !url.username && !url.password && !url.search;
    },
    { message: 'must not carry credentials or a query string (put a SAS token or key in its own secret field)' },
  );
