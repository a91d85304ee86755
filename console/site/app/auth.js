// Who the console acts as. config.json says how:
//  - {"mode": "local"}: the local stack. A picker chooses a local staff user; the API is told with the
//    X-Dev-User and X-Dev-Groups headers (without them it is the local stack's own "local-staff").
//  - {"mode": "cognito", "auth": {"domain", "client_id", "redirect_uri", "logout_uri", "scopes"}}: the staff
//    user pool's hosted UI, authorization code flow with PKCE (S256); the ID token goes to the API.

const LOCAL_USER_KEY = "crm.console.local-user";
const TOKENS_KEY = "crm.console.tokens";
const PENDING_KEY = "crm.console.sign-in";

export const session = {
  config: null,
  localUser: null, // {username, roles} chosen in the picker; null: the local stack's default user
  tokens: null, // {id_token, refresh_token, expires_at}
};

export async function loadConfig() {
  const response = await fetch("config.json", { cache: "no-store" });
  if (!response.ok) throw new Error(`config.json answered ${response.status}`);
  session.config = await response.json();
  if (session.config.mode === "local") {
    try {
      session.localUser = JSON.parse(localStorage.getItem(LOCAL_USER_KEY) || "null");
    } catch {
      session.localUser = null;
    }
  }
  return session.config;
}

export function isLocal() {
  return session.config && session.config.mode === "local";
}

export function chooseLocalUser(user) {
  session.localUser = user;
  if (user) localStorage.setItem(LOCAL_USER_KEY, JSON.stringify(user));
  else localStorage.removeItem(LOCAL_USER_KEY);
}

export async function authHeaders() {
  if (isLocal()) {
    const user = session.localUser;
    return user ? { "X-Dev-User": user.username, "X-Dev-Groups": user.roles.join(",") } : {};
  }
  if (session.tokens && session.tokens.expires_at - Date.now() < 60_000) await refresh();
  return session.tokens ? { Authorization: session.tokens.id_token } : {};
}

// ---- Cognito hosted UI, authorization code with PKCE --------------------------------------------------

function base64url(bytes) {
  let text = "";
  for (const byte of new Uint8Array(bytes)) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomText(size) {
  return base64url(crypto.getRandomValues(new Uint8Array(size)));
}

export async function pkceChallenge(verifier) {
  return base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
}

// Signed in (now, or by finishing a redirect back from the hosted UI)? Otherwise go to the hosted UI.
export async function signIn() {
  const auth = session.config.auth;
  const here = new URL(location.href);
  const code = here.searchParams.get("code");
  if (code) {
    await finishSignIn(auth, code, here.searchParams.get("state"));
    return true;
  }
  if (here.searchParams.get("error")) {
    throw new Error(`Sign-in failed: ${here.searchParams.get("error_description") || here.searchParams.get("error")}`);
  }
  try {
    session.tokens = JSON.parse(sessionStorage.getItem(TOKENS_KEY) || "null");
  } catch {
    session.tokens = null;
  }
  if (session.tokens && (session.tokens.expires_at > Date.now() + 60_000 || (await refresh()))) return true;
  await startSignIn(auth);
  return false;
}

async function startSignIn(auth) {
  const verifier = randomText(48);
  const state = randomText(16);
  sessionStorage.setItem(PENDING_KEY, JSON.stringify({ verifier, state, hash: location.hash }));
  const url = new URL(`${auth.domain}/oauth2/authorize`);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: auth.client_id,
    redirect_uri: auth.redirect_uri,
    scope: auth.scopes || "openid email profile",
    state,
    code_challenge: await pkceChallenge(verifier),
    code_challenge_method: "S256",
  }).toString();
  location.assign(url.toString());
}

async function finishSignIn(auth, code, state) {
  const pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) || "null");
  sessionStorage.removeItem(PENDING_KEY);
  if (!pending || pending.state !== state) throw new Error("Sign-in failed: the answer from the sign-in page does not match the request. Sign in again.");
  const tokens = await tokenRequest(auth, {
    grant_type: "authorization_code",
    client_id: auth.client_id,
    code,
    redirect_uri: auth.redirect_uri,
    code_verifier: pending.verifier,
  });
  keep(tokens);
  history.replaceState(null, "", `${auth.redirect_uri}${pending.hash || ""}`);
}

async function tokenRequest(auth, form) {
  const response = await fetch(`${auth.domain}/oauth2/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(form).toString(),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(`Sign-in failed: ${data.error_description || data.error || response.status}`);
  return data;
}

function keep(tokens) {
  session.tokens = {
    id_token: tokens.id_token,
    refresh_token: tokens.refresh_token || (session.tokens && session.tokens.refresh_token),
    expires_at: Date.now() + (Number(tokens.expires_in) || 3600) * 1000,
  };
  sessionStorage.setItem(TOKENS_KEY, JSON.stringify(session.tokens));
}

// A fresh ID token from the refresh token; false when there is none or it no longer works.
export async function refresh() {
  if (isLocal() || !session.tokens || !session.tokens.refresh_token) return false;
  const auth = session.config.auth;
  try {
    keep(await tokenRequest(auth, {
      grant_type: "refresh_token", client_id: auth.client_id, refresh_token: session.tokens.refresh_token,
    }));
    return true;
  } catch {
    session.tokens = null;
    sessionStorage.removeItem(TOKENS_KEY);
    return false;
  }
}

export function signOut() {
  sessionStorage.removeItem(TOKENS_KEY);
  session.tokens = null;
  const auth = session.config.auth;
  const url = new URL(`${auth.domain}/logout`);
  url.search = new URLSearchParams({ client_id: auth.client_id, logout_uri: auth.logout_uri || auth.redirect_uri }).toString();
  location.assign(url.toString());
}
