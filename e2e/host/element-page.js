// The host's own script: it hears clicks through the widget's DOM event, and nothing else.
window.hostClicks = [];
for (const element of document.querySelectorAll('private-recs')) {
  element.addEventListener('recs-click', (event) => {
    window.hostClicks.push({ id: element.id, detail: event.detail });
    const li = document.createElement('li');
    li.textContent = `clicked ${event.detail.itemId}`;
    document.getElementById('clicks').append(li);
  });
}
