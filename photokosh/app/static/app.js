// photokosh review: small helpers; every action also works without this file (plain forms).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Forget asks first (the form also needs its "yes" box ticked).
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
  // Drag a person onto another to merge them (the dragged one joins the target).
  const merge = document.getElementById("drag-merge");
  if (!merge) return;
  let dragged = null;
  for (const card of document.querySelectorAll(".card[data-person]")) {
    card.addEventListener("dragstart", (event) => {
      dragged = card.dataset.person;
      event.dataTransfer.setData("text/plain", dragged);
    });
    card.addEventListener("dragover", (event) => {
      if (dragged && dragged !== card.dataset.person) {
        event.preventDefault();
        card.classList.add("drop");
      }
    });
    card.addEventListener("dragleave", () => card.classList.remove("drop"));
    card.addEventListener("drop", (event) => {
      event.preventDefault();
      card.classList.remove("drop");
      const target = card.dataset.person;
      if (!dragged || dragged === target) return;
      const from = document.querySelector(`.card[data-person="${dragged}"]`);
      const name = from ? from.dataset.name : dragged;  // the names, as the cards show them
      if (!window.confirm(`Merge ${name} into ${card.dataset.name}?`)) return;
      merge.elements.source.value = dragged;
      merge.elements.target.value = target;
      merge.submit();
    });
  }
});
