// htmx swaps the answer of a refused form (422) so the refusal shows next to it, like without JavaScript.
document.addEventListener("DOMContentLoaded", function () {
  if (window.htmx) {
    htmx.config.responseHandling = [
      {code: "204", swap: false}, {code: "[23]..", swap: true}, {code: "422", swap: true},
      {code: "[45]..", swap: false, error: true}];
  }
});
