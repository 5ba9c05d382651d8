// The search page of the static site: names and aliases by Fuse.js (any case, misspellings), and the
// words of quotes, in the indexes Python wrote beside the page as scripts (a page opened from
// file:// may load a script, not fetch a file): search-names.js, and search-quotes.js when needed.
"use strict";
(function () {
  var form = document.getElementById("search-form");
  var input = document.getElementById("q");
  var section = document.getElementById("results-section");
  function load(file, name) {
    return new Promise(function (resolve, reject) {
      if (window[name]) return resolve(window[name]);
      var script = document.createElement("script");
      script.src = file;
      script.onload = function () { resolve(window[name]); };
      script.onerror = reject;
      document.head.appendChild(script);
    });
  }
  function item(list, href, text, detail) {
    var li = document.createElement("li"), a = document.createElement("a");
    a.href = href; a.textContent = text; li.appendChild(a);
    if (detail) li.appendChild(document.createTextNode(" (" + detail + ")"));
    list.appendChild(li);
  }
  function run() {
    var wanted = input.value.trim();
    var nameList = document.getElementById("name-results"), quoteList = document.getElementById("quote-results");
    nameList.textContent = ""; quoteList.textContent = "";
    section.hidden = !wanted;
    if (!wanted) return;
    Promise.all([load("search-names.js", "tradekbNames"), load("search-quotes.js", "tradekbQuotes")]).then(function (loaded) {
      var names = loaded[0], quotes = loaded[1];
      var fuse = new Fuse(names, {keys: ["l", "a"], threshold: 0.4, ignoreLocation: true});
      fuse.search(wanted, {limit: 20}).forEach(function (hit) { item(nameList, hit.item.h, hit.item.l, hit.item.k); });
      var words = wanted.toLowerCase().split(/\s+/);
      quotes.filter(function (q) {
        var text = q.q.toLowerCase();
        return words.every(function (w) { return text.indexOf(w) >= 0; });
      }).slice(0, 50).forEach(function (q) { item(quoteList, q.h, "“" + q.q + "”", q.f); });
      if (!nameList.children.length && !quoteList.children.length) item(nameList, "#q", "Nothing matches.", "");
    });
  }
  form.addEventListener("submit", function (event) { event.preventDefault(); run(); });
  var given = new URLSearchParams(window.location.search).get("q");
  if (given) { input.value = given; run(); }
})();
