// The sign-in callback page (<ll>/signed-in/): the OAuth redirect URI of both networks, opened in a
// popup by the matcher page. Thin glue; it never loads Pyodide.
// - Bluesky answers in the fragment (#state=…&iss=…&code=… or #…error=…): the bundled atproto
//   client finishes the sign-in (the session goes into this browser's storage) and this page tells
//   the matcher page which session it is, or the refusal, on the BroadcastChannel
//   "passerelle-signin"; the matcher page restores the session; the window closes.
// - Mastodon answers in the query (?code=…&state=… or ?error=…): the page passes it on to the
//   matcher page on the same channel, and closes.
// Each answer is sent again until the matcher page acknowledges it (signin-received).
'use strict';

(() => {
  const CHANNEL = 'passerelle-signin';
  const config = JSON.parse(document.getElementById('signin-config').textContent);
  const status = document.querySelector('[data-testid="signin-status"]');
  const errorLine = document.querySelector('[data-testid="signin-error"]');

  function format(template, values) {
    return template.replace(/%\((\w+)\)s/g, (_, name) => String(values[name] ?? ''));
  }

  function showError(text) {
    status.hidden = true;
    errorLine.textContent = text;
    errorLine.hidden = false;
  }

  function finish() {
    status.textContent = config.ui.closeWindow; // in case the browser refuses to close the window
    window.close();
  }

  // The answer goes to the page that opened this window, again every half second until that page
  // says it has it (a message sent as a window closes can be lost), for five seconds at most.
  function post(message) {
    return new Promise((resolve) => {
      const channel = new BroadcastChannel(CHANNEL);
      let tries = 0;
      const done = () => {
        clearInterval(again);
        channel.close();
        resolve();
      };
      channel.onmessage = (event) => {
        const data = event.data || {};
        if (data.type === 'signin-received' && data.state === message.state) done();
      };
      const send = () => {
        if (tries++ >= 10) return done();
        channel.postMessage(message);
      };
      const again = setInterval(send, 500);
      send();
    });
  }

  function mastodonCallback(query) {
    // The code must not stay in the address bar or the history.
    history.replaceState(null, '', location.pathname);
    post({
      type: 'mastodon-callback',
      code: query.get('code'),
      state: query.get('state'),
      error: query.get('error'),
    }).then(finish);
  }

  async function blueskyCallback() {
    const oauth = config.oauth;
    if (!oauth) {
      showError(config.ui.notConfigured);
      return;
    }
    // A classic script's import() resolves from the script's address: make the bundle's absolute.
    const client = await import(new URL(oauth.bundle, document.baseURI).href);
    try {
      const oauthClient = await client.loadClient(window.location, oauth, config.settings);
      if (oauthClient === null) {
        showError(config.ui.notConfigured);
        return;
      }
      const result = await oauthClient.init();
      if (!result || !result.session) {
        showError(config.ui.nothingToDo);
        return;
      }
      // The session is in this browser's storage now; the matcher page that opened this window
      // restores it (its state names the sign-in it started).
      await post({ type: 'bluesky-callback', sub: result.session.sub, state: result.state || '' });
      finish();
    } catch (error) {
      if (error instanceof client.LoginContinuedInParentWindowError) {
        finish(); // the opener's client has the session now
        return;
      }
      if (error instanceof client.OAuthCallbackError && error.state) {
        // A refusal (e.g. access_denied): the matcher page says it in the person's words.
        await post({ type: 'bluesky-callback', state: error.state, error: error.params.get('error') || 'failed' });
        finish();
        return;
      }
      showError(format(config.ui.failed, { reason: (error && error.message) || String(error) }));
    }
  }

  const fragment = new URLSearchParams(location.hash.slice(1));
  const query = new URLSearchParams(location.search);
  if (fragment.has('state') && (fragment.has('code') || fragment.has('error'))) {
    blueskyCallback().catch((error) => {
      showError(format(config.ui.failed, { reason: (error && error.message) || String(error) }));
    });
  } else if (query.has('code') || query.has('error')) {
    mastodonCallback(query);
  } else {
    showError(config.ui.nothingToDo);
  }
})();
