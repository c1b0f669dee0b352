/* Accessibility repairs for Dash 4.4 core components (issue 5), applied after every render.
 *
 * - The page's language, which Dash's index page does not declare.
 * - dcc.Dropdown puts keyboard focus on a hidden read-only input (aria-hidden yet focusable): expose it as
 *   the combobox it acts as, named by the control's <label>, and keep the visual button out of the tab order.
 * - dcc.RadioItems wraps native radio buttons in role="listbox"/"option" (interactive inside interactive):
 *   make the group a radiogroup named by its fieldset legend and let the native radios speak for themselves.
 *   dcc.Checklist does the same with checkboxes: make it a group named by its legend or <label>.
 * - dcc.Upload's file input (the keyboard's way in) has no name: name it by the drop zone's own words.
 * No data is read or sent; this only sets attributes.
 */
(function () {
  "use strict";

  function setAttr(el, name, value) {
    if (el.getAttribute(name) !== value) { el.setAttribute(name, value); }
  }

  function dropdowns(root) {
    root.querySelectorAll(".dash-dropdown-wrapper").forEach(function (wrapper) {
      var target = wrapper.querySelector(".dash-dropdown-focus-target");
      var button = wrapper.querySelector("button.dash-dropdown");
      if (!target || !button) { return; }
      var label = button.id ? document.querySelector('label[for="' + button.id + '"]') : null;
      var value = wrapper.querySelector(".dash-dropdown-value");
      if (target.hasAttribute("aria-hidden")) { target.removeAttribute("aria-hidden"); }
      setAttr(target, "role", "combobox");
      setAttr(target, "aria-haspopup", "listbox");
      setAttr(target, "aria-expanded", button.getAttribute("aria-expanded") || "false");
      var name = (label ? label.textContent.trim() : "Choose") + ": " + (value ? value.textContent.trim() : "");
      setAttr(target, "aria-label", name);
    });
  }

  function labelFor(el) {
    var label = el.id ? document.querySelector('label[for="' + el.id + '"]') : null;
    var legend = el.closest("fieldset") && el.closest("fieldset").querySelector("legend");
    return label ? label.textContent.trim() : (legend ? legend.textContent.trim() : "");
  }

  function optionLists(root) {
    root.querySelectorAll(".dash-radioitems, .dash-checklist").forEach(function (group) {
      setAttr(group, "role", group.classList.contains("dash-checklist") ? "group" : "radiogroup");
      var name = labelFor(group);
      if (name) { setAttr(group, "aria-label", name); }
      group.querySelectorAll('[role="option"]').forEach(function (option) {
        option.removeAttribute("role");
        option.removeAttribute("aria-selected");
      });
    });
  }

  function uploads(root) {
    root.querySelectorAll('input[type="file"]').forEach(function (input) {
      if (input.labels && input.labels.length) { return; }
      var words = input.parentElement ? input.parentElement.textContent.trim() : "";
      setAttr(input, "aria-label", words || "Choose a file");
    });
  }

  function repair() {
    setAttr(document.documentElement, "lang", "en-GB");
    dropdowns(document);
    optionLists(document);
    uploads(document);
  }

  var scheduled = false;
  new MutationObserver(function () {
    if (scheduled) { return; }
    scheduled = true;
    window.requestAnimationFrame(function () { scheduled = false; repair(); });
  }).observe(document.documentElement, { childList: true, subtree: true, attributes: true,
                                         attributeFilter: ["role", "aria-hidden", "aria-expanded", "aria-label"] });
  repair();
})();
