// What Passerelle's pages take from @atproto/oauth-client-browser, bundled by the build
// (sitebuild/oauth_client.py) into one self-hosted module, plus the one place where the page's
// OAuth client id is decided, so that the matcher page and the sign-in callback page (which must
// use exactly the same client id) share this code.
//
// `oauth` is the `oauth` object of the page's configuration: {bundle, client_metadata, scope,
// callback}; `settings` holds bluesky_handle_resolver and plc_directory_url.
import { BrowserOAuthClient } from '@atproto/oauth-client-browser'

export {
  BrowserOAuthClient,
  buildLoopbackClientId,
  LoginContinuedInParentWindowError,
  OAuthCallbackError,
  OAuthResolverError,
  OAuthResponseError,
  TokenRefreshError,
  TokenRevokedError,
  TokenInvalidError,
} from '@atproto/oauth-client-browser'

const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '[::1]']

/** Whether the page is served from this computer (build.py serve, tests). */
export function isLoopbackPage(location) {
  return LOOPBACK_HOSTS.includes(location.hostname)
}

/** The callback page's absolute address, as the authorization server will redirect to it.
 * atproto refuses "localhost" in a loopback redirect URI: it becomes 127.0.0.1. */
export function callbackUrl(location, oauth) {
  const url = new URL(oauth.callback, location.href)
  if (url.hostname === 'localhost') url.hostname = '127.0.0.1'
  url.search = ''
  url.hash = ''
  return url.href
}

/** The client id: atproto's loopback development client id, built from the page's own address,
 * when the page is served from loopback; else the client metadata the build published from
 * site_url; null when there is none (the site was built without an https site_url). */
export function clientIdFor(location, oauth) {
  if (isLoopbackPage(location)) {
    const redirect = encodeURIComponent(callbackUrl(location, oauth))
    return `http://localhost?redirect_uri=${redirect}&scope=${encodeURIComponent(oauth.scope)}`
  }
  return oauth.client_metadata || null
}

/** The OAuth client for this page, or null when Bluesky sign-in is not configured for this site. */
export async function loadClient(location, oauth, settings) {
  const clientId = clientIdFor(location, oauth)
  if (clientId === null) return null
  return BrowserOAuthClient.load({
    clientId,
    handleResolver: settings.bluesky_handle_resolver,
    plcDirectoryUrl: settings.plc_directory_url,
    allowHttp: isLoopbackPage(location),
  })
}
