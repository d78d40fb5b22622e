import { api, PASSWORD } from "./helpers";

/** Signs in through the form as a browser on our own page would, and returns the cookie and the page's CSRF token. */
export async function signIn(username: string) {
  const res = await api("/login", {
    method: "POST",
    rawBody: new URLSearchParams({ username, password: PASSWORD }).toString(),
    headers: { "Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "same-origin", Origin: "https://chainproof.test" },
  });
  if (res.status !== 303) throw new Error(`sign-in failed: ${res.status}`);
  const cookie = res.headers.get("Set-Cookie")!.split(";")[0]!;
  const me = await api("/api/v1/me", { as: { cookie } });
  return { cookie, csrf: me.json.csrf_token as string };
}

export type Session = Awaited<ReturnType<typeof signIn>>;

export const page = (session: Session, path: string) => api(path, { headers: { Cookie: session.cookie, "Sec-Fetch-Site": "same-origin" } });

/** A form post from our own page; `fields` without `_csrf` unless given. */
export const post = (session: Session, path: string, fields: Record<string, string | string[]>, headers: Record<string, string> = {}) => {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) for (const one of Array.isArray(v) ? v : [v]) body.append(k, one);
  return api(path, {
    method: "POST",
    rawBody: body.toString(),
    headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: session.cookie, "Sec-Fetch-Site": "same-origin", ...headers },
  });
};
