// The front end of examples/service.ts: the API with fetch, the feed with EventSource, the room
// with a WebSocket.
const list = document.getElementById('notes');
const problem = document.getElementById('problem');

function show(notes) {
  list.replaceChildren(
    ...notes.map((note) => {
      const item = document.createElement('li');
      item.dataset.id = note.id;
      item.textContent = note.text;
      return item;
    }),
  );
}

async function refresh() {
  const res = await fetch('/api/notes');
  show(await res.json());
}

document.getElementById('add').addEventListener('submit', async (event) => {
  event.preventDefault();
  const input = document.getElementById('text');
  const res = await fetch('/api/notes', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text: input.value }),
  });
  if (res.ok) {
    problem.textContent = '';
    input.value = '';
  } else {
    const body = await res.json();
    problem.textContent = body.issues?.map((issue) => issue.message).join('; ') ?? body.title;
  }
});

const feed = new EventSource('/api/feed');
feed.addEventListener('note', (event) => {
  document.getElementById('feed').textContent += `note: ${JSON.parse(event.data).text}\n`;
  void refresh();
});
feed.addEventListener('deleted', (event) => {
  document.getElementById('feed').textContent += `deleted: ${event.data}\n`;
  void refresh();
});
feed.addEventListener('open', () => void refresh());

const room = new WebSocket(`${location.origin.replace('http', 'ws')}/room`);
room.addEventListener('message', (event) => {
  document.getElementById('room').textContent += `${event.data}\n`;
});
document.getElementById('say').addEventListener('submit', (event) => {
  event.preventDefault();
  const line = document.getElementById('line');
  if (line.value) room.send(line.value);
  line.value = '';
});
