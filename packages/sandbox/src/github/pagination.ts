/** GitHub's default page size, and the most `per_page` may ask for (larger values are clamped). */
const DEFAULT_PER_PAGE = 30;
const MAX_PER_PAGE = 100;

export interface Page<T> {
  readonly items: T[];
  /** The `link` header, when there is another page to point to. */
  readonly link: string | undefined;
}

function positiveInteger(value: string | null): number | undefined {
  if (value === null || !/^\d+$/.test(value)) return undefined;
  const number = Number(value);
  return number >= 1 ? number : undefined;
}

/**
 * The page of `items` that `per_page` and `page` in `requestUrl` ask for, and a `link` header with the
 * absolute URLs of the next, last, first and previous pages, in GitHub's order, which the other query
 * parameters keep.
 */
export function paginate<T>(items: readonly T[], requestUrl: URL): Page<T> {
  const perPage = Math.min(
    positiveInteger(requestUrl.searchParams.get("per_page")) ?? DEFAULT_PER_PAGE,
    MAX_PER_PAGE,
  );
  const page = positiveInteger(requestUrl.searchParams.get("page")) ?? 1;
  const lastPage = Math.max(1, Math.ceil(items.length / perPage));
  const pageUrl = (number: number) => {
    const url = new URL(requestUrl);
    url.searchParams.set("per_page", String(perPage));
    url.searchParams.set("page", String(number));
    return url.href;
  };
  const relations: [string, number][] = [];
  if (page > 1) relations.push(["prev", Math.min(page - 1, lastPage)]);
  if (page < lastPage) relations.push(["next", page + 1], ["last", lastPage]);
  if (page > 1) relations.push(["first", 1]);
  return {
    items: items.slice((page - 1) * perPage, page * perPage),
    link: relations.length
      ? relations.map(([rel, number]) => `<${pageUrl(number)}>; rel="${rel}"`).join(", ")
      : undefined,
  };
}
