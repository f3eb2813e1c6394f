// A page whose framework broke custom elements: customElements.define throws, as some
// polyfills and patched pages do. The script tag's widget needs no custom element.
customElements.define = function () {
  throw new Error('this page does not allow new custom elements');
};
