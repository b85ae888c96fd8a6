// The sandbox page: one browser's conversations with the bot, as virtual users in direct chats and a shared channel.
const STORE = 'minigpt-sandbox';
const SVG = 'http://www.w3.org/2000/svg';
const $ = (id) => document.getElementById(id);

/** Everything the page remembers across reloads, in this browser's storage. */
function loadState() {
  const saved = JSON.parse(localStorage.getItem(STORE) ?? 'null');
  if (saved) return saved;
  return { browser: crypto.randomUUID(), users: ['alice', 'bob'], user: 'alice', place: 'direct', threads: {} };
}
const state = loadState();
function save() {
  try {
    localStorage.setItem(STORE, JSON.stringify(state));
  } catch {
    // over the storage quota (large images): keep the words, drop the pictures
    for (const t of Object.values(state.threads)) t.image = t.annotated = undefined;
    localStorage.setItem(STORE, JSON.stringify(state));
  }
}

/** The conversation shown: the user's direct chat, or the channel everyone shares. */
const threadKey = () => (state.place === 'shared' ? 'shared' : `direct-${state.user}`);
function thread(key = threadKey()) {
  state.threads[key] ??= { messages: [], image: undefined, annotated: undefined };
  return state.threads[key];
}

let commands = [];
/** What the text box says when no command is chosen: free text is chat. */
const FREE_TEXT = $('text').placeholder;
let chosen;

// ---- image: drop, paste, pick ----
function useImage(file) {
  if (!file?.type.startsWith('image/')) return;
  const reader = new FileReader();
  reader.onload = () => {
    const t = thread();
    Object.assign(t, { image: reader.result, imageSize: undefined, annotated: undefined, boxes: [] });
    save();
    render();
  };
  reader.readAsDataURL(file);
}
const drop = $('drop');
drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  useImage(e.dataTransfer.files[0]);
});
document.addEventListener('paste', (e) =>
  useImage([...e.clipboardData.files].find((f) => f.type.startsWith('image/'))),
);
$('file').addEventListener('change', (e) => useImage(e.target.files[0]));

// ---- boxes over the image, and the phrase <-> box highlight ----
function light(number, on) {
  for (const el of document.querySelectorAll(`[data-box="${number}"]`)) {
    el.classList.toggle('lit', on);
    if (el.classList.contains('chip')) el.style.background = on ? el.style.borderColor : '';
  }
}
function hoverable(el, number) {
  el.dataset.box = number;
  el.addEventListener('mouseenter', () => light(number, true));
  el.addEventListener('mouseleave', () => light(number, false));
}
function setAttributes(el, attributes) {
  for (const [k, v] of Object.entries(attributes)) el.setAttribute(k, v);
}
function drawBoxes(boxes, size) {
  const svg = $('overlay');
  svg.replaceChildren(svg.querySelector('title'));
  if (!size) return;
  svg.setAttribute('viewBox', `0 0 ${size.width} ${size.height}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  for (const b of boxes ?? []) {
    const [x1, y1, x2, y2] = b.box;
    const g = document.createElementNS(SVG, 'g');
    const rect = document.createElementNS(SVG, 'rect');
    setAttributes(rect, { x: x1, y: y1, width: x2 - x1, height: y2 - y1, stroke: b.colour });
    rect.classList.add('box');
    const label = `#${b.number}`;
    const bg = document.createElementNS(SVG, 'rect');
    const scale = size.width / Math.max(1, svg.getBoundingClientRect().width || size.width);
    // the label stands clear of the box's top edge, so the edge stays a thin line of its own
    const top = Math.max(0, y1 - 21 * scale);
    setAttributes(bg, {
      x: x1,
      y: top,
      width: (10 + 9 * label.length) * scale,
      height: 18 * scale,
    });
    bg.setAttribute('fill', b.colour);
    bg.classList.add('label-bg');
    const text = document.createElementNS(SVG, 'text');
    text.setAttribute('x', x1 + 4 * scale);
    text.setAttribute('y', top + 14 * scale);
    text.setAttribute('font-size', 14 * scale);
    text.setAttribute('fill', '#fff');
    text.setAttribute('stroke', '#000');
    text.setAttribute('stroke-width', 0.4 * scale);
    text.textContent = label;
    g.append(rect, bg, text);
    hoverable(g, b.number);
    svg.append(g);
  }
}

// ---- drag a rectangle: ask [identify] about it ----
let dragFrom;
function imagePoint(e) {
  const r = $('picture').getBoundingClientRect();
  const t = thread();
  const w = t.imageSize?.width ?? $('picture').naturalWidth;
  const h = t.imageSize?.height ?? $('picture').naturalHeight;
  const x = Math.min(Math.max(0, e.clientX - r.left), r.width);
  const y = Math.min(Math.max(0, e.clientY - r.top), r.height);
  return [Math.round((x * w) / r.width), Math.round((y * h) / r.height)];
}
$('overlay').addEventListener('mousedown', (e) => {
  e.preventDefault();
  dragFrom = imagePoint(e);
});
$('overlay').addEventListener('mousemove', (e) => {
  if (!dragFrom) return;
  const [x, y] = imagePoint(e);
  const svg = $('overlay');
  let rect = svg.querySelector('rect.drag');
  if (!rect) {
    const t = thread();
    const w = t.imageSize?.width ?? $('picture').naturalWidth;
    const h = t.imageSize?.height ?? $('picture').naturalHeight;
    svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
    svg.setAttribute('preserveAspectRatio', 'none');
    rect = document.createElementNS(SVG, 'rect');
    rect.classList.add('drag');
    svg.append(rect);
  }
  rect.setAttribute('x', Math.min(x, dragFrom[0]));
  rect.setAttribute('y', Math.min(y, dragFrom[1]));
  rect.setAttribute('width', Math.abs(x - dragFrom[0]));
  rect.setAttribute('height', Math.abs(y - dragFrom[1]));
});
window.addEventListener('mouseup', (e) => {
  if (!dragFrom) return;
  const [x, y] = imagePoint(e);
  const [x0, y0] = dragFrom;
  dragFrom = undefined;
  $('overlay').querySelector('rect.drag')?.remove();
  if (Math.abs(x - x0) < 4 || Math.abs(y - y0) < 4) return;
  const box = [Math.min(x, x0), Math.min(y, y0), Math.max(x, x0), Math.max(y, y0)].join(',');
  ask('identify', { box }, `/identify ${box}`);
});

// ---- commands: buttons from the bot's registry ----
const firstOption = (spec) => spec.options.find((o) => o.type !== 'image');
function renderCommands() {
  const row = $('commands');
  row.replaceChildren();
  for (const spec of commands) {
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = `/${spec.name}`;
    button.title = spec.description;
    button.dataset.command = spec.name;
    button.classList.toggle('chosen', chosen === spec.name);
    button.addEventListener('click', () => {
      const option = firstOption(spec);
      // nothing to type (or nothing required): one click asks
      if (!option?.required) return ask(spec.name, {}, `/${spec.name}`);
      chosen = chosen === spec.name ? undefined : spec.name;
      $('text').placeholder = chosen ? `${option.name}: ${option.description}` : FREE_TEXT;
      renderCommands();
      $('text').focus();
    });
    row.append(button);
  }
}
$('ask').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = $('text').value.trim();
  const spec = commands.find((c) => c.name === chosen);
  if (!text && (!spec || firstOption(spec)?.required)) return;
  $('text').value = '';
  if (!spec) return ask('chat', { text }, text);
  chosen = undefined;
  $('text').placeholder = FREE_TEXT;
  renderCommands();
  const option = firstOption(spec);
  ask(spec.name, option && text ? { [option.name]: text } : {}, `/${spec.name} ${text}`.trim());
});

// ---- asking: the answer streams in as server-sent events ----
async function ask(command, args, shown) {
  const key = threadKey();
  const t = thread(key);
  const user = state.user;
  const spec = commands.find((c) => c.name === command);
  // Sent with every question about it: the bot keeps the conversation when the image is the one it holds, and
  // one it no longer holds (expired, restarted without its state) is given back without the user noticing.
  const image = spec?.usesImage ? t.image : undefined;
  t.messages.push({ who: user, kind: 'user', text: shown });
  const answer = { who: 'bot', kind: 'pending', text: '', status: 'thinking…' };
  t.messages.push(answer);
  render();
  const response = await fetch('api/ask', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      browser: state.browser,
      user: { id: user },
      place: key === 'shared' ? 'shared' : 'direct',
      command,
      args,
      image,
    }),
  }).catch((error) => ({ ok: false, statusText: String(error) }));
  if (!response.ok || !response.body) {
    Object.assign(answer, {
      kind: 'error',
      text: `The page could not reach the bot (${response.statusText}).`,
      status: '',
    });
    return finish();
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += value;
    const events = buffered.split('\n\n');
    buffered = events.pop();
    for (const event of events) {
      const data = JSON.parse(event.replace(/^data: /, ''));
      if (data.type === 'queued') answer.status = `waiting in the queue: #${data.position}`;
      if (data.type === 'text') Object.assign(answer, { text: data.text, status: '' });
      if (data.type === 'reply') {
        Object.assign(answer, { kind: data.kind, text: data.text, boxes: data.boxes, status: '' });
        if (data.imageSize) t.imageSize = data.imageSize;
        if (data.boxes?.length) Object.assign(t, { boxes: data.boxes, annotated: data.image });
        // after /reset the bot holds no image for this conversation: neither does the page
        if (command === 'reset' && data.kind === 'info') {
          Object.assign(t, { image: undefined, boxes: [], annotated: undefined });
        }
      }
    }
    if (threadKey() === key) render();
  }
  finish();
  function finish() {
    save();
    if (threadKey() === key) render();
  }
}

// ---- drawing the page from the state ----
function renderMessages(t) {
  const list = $('messages');
  list.replaceChildren();
  const latest = t.messages.findLast((m) => m.boxes?.length);
  for (const m of t.messages) {
    const li = document.createElement('li');
    li.className = m.kind;
    const who = document.createElement('span');
    who.className = 'who';
    who.textContent = m.who === 'bot' ? 'bot:' : `${m.who}:`;
    const text = document.createElement('span');
    text.className = 'text';
    text.textContent = m.text;
    li.append(who, text);
    if (m.status) {
      const status = document.createElement('span');
      status.className = 'status';
      status.textContent = ` ${m.status}`;
      li.append(status);
    }
    if (m.boxes?.length) {
      const chips = document.createElement('div');
      chips.className = 'chips';
      for (const b of m.boxes) {
        const chip = document.createElement('span');
        chip.className = 'chip';
        chip.style.borderColor = b.colour;
        chip.textContent = b.phrase ? `#${b.number} ${b.phrase}` : `#${b.number}`;
        if (m === latest) hoverable(chip, b.number);
        chips.append(chip);
      }
      li.append(chips);
    }
    list.append(li);
  }
  list.scrollTop = list.scrollHeight;
}
function render() {
  const t = thread();
  const users = $('user');
  users.replaceChildren(...state.users.map((u) => new Option(u, u, false, u === state.user)));
  for (const radio of document.querySelectorAll('input[name=place]')) radio.checked = radio.value === state.place;
  $('stage').hidden = !t.image;
  $('drop-hint').hidden = Boolean(t.image);
  if (t.image && $('picture').getAttribute('src') !== t.image) $('picture').src = t.image;
  const download = $('download');
  download.hidden = !t.annotated;
  if (t.annotated) download.href = t.annotated;
  drawBoxes(t.boxes, t.imageSize);
  renderMessages(t);
}
$('picture').addEventListener('load', () => drawBoxes(thread().boxes, thread().imageSize));
$('user').addEventListener('change', (e) => {
  state.user = e.target.value;
  save();
  render();
});
$('add-user').addEventListener('submit', (e) => {
  e.preventDefault();
  const id = $('new-user').value.trim();
  if (!/^[\w-]{1,32}$/.test(id)) return;
  if (!state.users.includes(id)) state.users.push(id);
  state.user = id;
  $('new-user').value = '';
  save();
  render();
});
for (const radio of document.querySelectorAll('input[name=place]')) {
  radio.addEventListener('change', () => {
    state.place = radio.value;
    save();
    render();
  });
}

// Answers cut off by a reload are marked, not left "thinking" forever.
for (const t of Object.values(state.threads)) {
  for (const m of t.messages)
    if (m.kind === 'pending') Object.assign(m, { kind: 'error', status: '', text: m.text || '(interrupted)' });
}
const listed = await (await fetch('api/commands')).json();
commands = listed.commands;
$('text').maxLength = listed.textMaxChars;
renderCommands();
render();
document.body.dataset.ready = 'true';
