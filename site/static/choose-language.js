// Language chooser: send the visitor to the site's language that best fits the browser's
// preferences. Without JavaScript the page is a plain list of languages.
(function () {
  "use strict";
  var links = Array.prototype.slice.call(document.querySelectorAll("a[data-lang]"));
  var available = links.map(function (link) { return link.getAttribute("data-lang").toLowerCase(); });
  var wanted = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || ""];
  function pick() {
    for (var i = 0; i < wanted.length; i++) {
      var tag = String(wanted[i]).toLowerCase();
      if (available.indexOf(tag) !== -1) return tag;
      var base = tag.split("-")[0];
      if (available.indexOf(base) !== -1) return base;
      for (var j = 0; j < available.length; j++) {
        if (available[j].split("-")[0] === base) return available[j];
      }
    }
    return null;
  }
  // "#all" is how the site's own "All languages" link asks to see the list, not to be sent away.
  if (window.location.hash === "#all") return;
  var chosen = pick();
  if (chosen) {
    var link = links[available.indexOf(chosen)];
    window.location.replace(link.href);
  }
})();
