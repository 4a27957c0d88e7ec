// Progressive enhancement: a "Copy" button beside each ready-to-paste command. Without
// JavaScript (or a clipboard) the command stays selectable text.
document.querySelectorAll("pre.command").forEach(function (pre) {
  if (!navigator.clipboard) return;
  var button = document.createElement("button");
  button.type = "button";
  button.className = "link copy";
  button.textContent = pre.dataset.copyLabel || "Copy";
  button.addEventListener("click", function () {
    navigator.clipboard.writeText(pre.textContent).then(function () {
      button.textContent = pre.dataset.copiedLabel || "Copied";
    });
  });
  pre.insertAdjacentElement("afterend", button);
});
