// The API reference at /docs: reads /openapi.json and renders it as plain HTML (operations by tag,
// then the schemas), with a table of contents. Every text from the document goes in with textContent
// or a text node, never as markup; links are anchors this script builds from names.

const METHODS = ['get', 'put', 'post', 'patch', 'delete', 'head', 'options'];

/** An element with attributes and children (strings become text nodes; null/false are skipped). */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null && value !== false) node.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return node;
}

/** An anchor id made of the characters ids and URLs agree on. */
const slug = (...parts) => parts.join('-').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
const schemaId = (name) => `schema-${slug(name)}`;
const operationId = (method, path) => `op-${slug(method, path)}`;

/** Text with `code` spans, as inline nodes. */
function inline(text) {
  return String(text).split('`').map((part, i) => (i % 2 ? el('code', {}, part) : part));
}

/** Paragraphs of a description (blank lines separate them; single line breaks are spaces). */
function prose(text) {
  if (!text) return [];
  return String(text).split(/\n\s*\n/).map((p) => el('p', {}, inline(p.replace(/\s*\n\s*/g, ' '))));
}

/** The name a `$ref` points to: `#/components/schemas/Task` -> `Task`. */
const refName = (ref) => ref.split('/').pop();

/** A schema's type as inline nodes; references link to their schema. */
function typeOf(schema, doc) {
  if (!schema || typeof schema !== 'object') return ['any'];
  if (schema.$ref) {
    const name = refName(schema.$ref);
    return [el('a', { href: `#${schemaId(name)}`, class: 'ref' }, name)];
  }
  const alternatives = schema.oneOf || schema.anyOf;
  if (alternatives) return join(alternatives.map((s) => typeOf(s, doc)), ' | ');
  if (schema.allOf) return join(schema.allOf.map((s) => typeOf(s, doc)), ' & ');
  if (schema.enum) return join(schema.enum.map((v) => [el('code', {}, JSON.stringify(v))]), ' | ');
  const types = Array.isArray(schema.type) ? schema.type : [schema.type || (schema.properties ? 'object' : 'any')];
  return join(types.map((type) => {
    if (type === 'array') return ['array of ', ...typeOf(schema.items, doc)];
    if (type === 'object' && schema.additionalProperties && typeof schema.additionalProperties === 'object') {
      return ['map of ', ...typeOf(schema.additionalProperties, doc)];
    }
    return [schema.format && type !== 'null' ? `${type} (${schema.format})` : type];
  }), ' | ');
}

function join(lists, separator) {
  return lists.flatMap((list, i) => (i ? [separator, ...list] : list));
}

/** Limits, defaults and examples a schema states, as one line. */
function facts(schema) {
  if (!schema || schema.$ref) return [];
  const found = [];
  for (const [key, label] of [['minimum', 'min'], ['maximum', 'max'], ['minLength', 'min length'],
    ['maxLength', 'max length'], ['maxItems', 'max items'], ['default', 'default'], ['example', 'e.g.']]) {
    if (schema[key] !== undefined) found.push(`${label} ${JSON.stringify(schema[key])}`);
  }
  if (Array.isArray(schema.examples)) found.push(`e.g. ${schema.examples.map((e) => JSON.stringify(e)).join(', ')}`);
  return found.length ? [el('span', { class: 'facts' }, found.join(' · '))] : [];
}

/** A table of an object schema's properties. */
function propertiesTable(schema, doc, caption) {
  const required = new Set(schema.required || []);
  const rows = Object.entries(schema.properties || {}).map(([name, property]) => el('tr', {},
    el('th', { scope: 'row' }, el('code', {}, name)),
    el('td', {}, typeOf(property, doc)),
    el('td', {}, required.has(name) ? 'yes' : 'no'),
    el('td', {}, prose(property.description), facts(property))));
  return table(caption, ['Property', 'Type', 'Required', 'Description'], rows);
}

/** A table whose cells carry their column's name, so a narrow screen can show each row as a card.
 * The explicit roles keep the table semantics when CSS changes how it is displayed. */
function table(caption, headings, rows) {
  for (const row of rows) {
    row.setAttribute('role', 'row');
    [...row.children].forEach((cell, i) => {
      cell.setAttribute('data-label', headings[i]);
      cell.setAttribute('role', cell.tagName === 'TH' ? 'rowheader' : 'cell');
    });
  }
  return el('div', { class: 'table-wrap' }, el('table', { role: 'table' },
    el('caption', {}, caption),
    el('thead', { role: 'rowgroup' }, el('tr', { role: 'row' }, headings.map((h) => el('th', { scope: 'col', role: 'columnheader' }, h)))),
    el('tbody', { role: 'rowgroup' }, rows)));
}

/** A schema where it is used: its type, and the properties of an inline object. */
function schemaBlock(schema, doc, caption) {
  const parts = [el('p', { class: 'type' }, 'Type: ', typeOf(schema, doc))];
  if (schema && !schema.$ref && schema.properties) parts.push(propertiesTable(schema, doc, caption));
  return parts;
}

/** The bodies of a request or response, one per content type. */
function content(bodies, doc, caption) {
  return Object.entries(bodies || {}).flatMap(([type, body]) => [
    el('p', { class: 'content-type' }, el('code', {}, type)),
    ...(body.schema ? schemaBlock(body.schema, doc, caption) : []),
  ]);
}

function operation(method, path, op, pathItem, doc) {
  const params = [...(pathItem.parameters || []), ...(op.parameters || [])];
  const secured = (op.security || doc.security || []).some((s) => Object.keys(s).length > 0);
  const title = `${method.toUpperCase()} ${path}`;
  const section = el('section', { class: 'operation', id: operationId(method, path), 'aria-labelledby': `${operationId(method, path)}-h` },
    el('h3', { id: `${operationId(method, path)}-h` },
      el('span', { class: `method method-${method}` }, method.toUpperCase()), ' ', el('code', { class: 'path' }, path)),
    op.summary ? el('p', { class: 'summary' }, inline(op.summary)) : null,
    prose(op.description),
    secured ? el('p', { class: 'auth' }, 'Requires a bearer token (', el('a', { href: '#authentication' }, 'Authentication'), ').') : null);
  if (params.length) {
    section.append(el('h4', {}, 'Parameters'), table(`Parameters of ${title}`, ['Name', 'In', 'Required', 'Type', 'Description'],
      params.map((p) => el('tr', {},
        el('th', { scope: 'row' }, el('code', {}, p.name)),
        el('td', {}, p.in),
        el('td', {}, p.required ? 'yes' : 'no'),
        el('td', {}, typeOf(p.schema, doc)),
        el('td', {}, prose(p.description), facts(p.schema), p.example !== undefined ? el('span', { class: 'facts' }, `e.g. ${JSON.stringify(p.example)}`) : null)))));
  }
  if (op.requestBody) {
    section.append(el('h4', {}, 'Request body', op.requestBody.required ? ' (required)' : ''),
      ...prose(op.requestBody.description), ...content(op.requestBody.content, doc, `Request body of ${title}`));
  }
  const responses = Object.entries(op.responses || {});
  if (responses.length) {
    section.append(el('h4', {}, 'Responses'), el('dl', { class: 'responses' }, responses.flatMap(([status, response]) => [
      el('dt', {}, el('span', { class: `status status-${status[0]}xx` }, status)),
      el('dd', {}, prose(response.description), content(response.content, doc, `Response ${status} of ${title}`)),
    ])));
  }
  return section;
}

function schemaSection(name, schema, doc) {
  const section = el('section', { class: 'schema', id: schemaId(name), 'aria-labelledby': `${schemaId(name)}-h` },
    el('h3', { id: `${schemaId(name)}-h` }, el('code', {}, name)), prose(schema.description));
  const alternatives = schema.oneOf || schema.anyOf;
  if (alternatives) {
    section.append(el('p', {}, schema.oneOf ? 'Exactly one of:' : 'Any of:'), el('ul', { class: 'alternatives' },
      alternatives.map((alt) => el('li', {}, typeOf(alt, doc), alt.description ? ' — ' : null,
        alt.description ? inline(alt.description) : null,
        alt.properties ? propertiesTable(alt, doc, `Properties of this form of ${name}`) : null))));
  } else if (schema.enum) {
    section.append(el('p', {}, 'One of: ', join(schema.enum.map((v) => [el('code', {}, JSON.stringify(v))]), ', ')));
  } else if (schema.properties) {
    section.append(propertiesTable(schema, doc, `Properties of ${name}`));
  } else {
    section.append(el('p', { class: 'type' }, 'Type: ', typeOf(schema, doc)));
  }
  return section;
}

function authentication(doc) {
  const schemes = Object.entries(doc.components?.securitySchemes || {});
  return el('section', { id: 'authentication', 'aria-labelledby': 'authentication-h' },
    el('h2', { id: 'authentication-h' }, 'Authentication'),
    el('p', {}, 'Sign up or sign in (', el('code', {}, 'POST /api/v1/auth/signup'), ', ', el('code', {}, 'POST /api/v1/auth/login'),
      ') to get a token, then send it with every other request as ', el('code', {}, 'Authorization: Bearer <token>'),
      '. A missing, expired or forged token is answered with 401. Errors have the body ',
      el('code', {}, '{"error": {"code", "message", "details"?}}'), '; ', el('code', {}, 'details.field'),
      ' names the field or query parameter at fault.'),
    schemes.length ? el('ul', {}, schemes.map(([name, s]) => el('li', {}, el('code', {}, name), ': ',
      [s.type, s.scheme, s.bearerFormat && `(${s.bearerFormat})`].filter(Boolean).join(' ')))) : null);
}

function render(doc) {
  const info = doc.info || {};
  document.title = `${info.title || 'API'} · API reference`;
  document.getElementById('title').textContent = `${info.title || 'API'}${info.version ? ` ${info.version}` : ''}`;
  document.getElementById('description').replaceChildren(...prose(info.description));

  const groups = new Map();
  for (const [path, item] of Object.entries(doc.paths || {})) {
    for (const method of METHODS.filter((m) => item[m])) {
      const tag = item[method].tags?.[0] || 'other';
      if (!groups.has(tag)) groups.set(tag, []);
      groups.get(tag).push([method, path, item[method], item]);
    }
  }
  const tagDescriptions = new Map((doc.tags || []).map((t) => [t.name, t.description]));
  const schemas = Object.entries(doc.components?.schemas || {});

  const toc = [el('li', {}, el('a', { href: '#authentication' }, 'Authentication'))];
  const main = [authentication(doc)];
  for (const [tag, operations] of groups) {
    const id = `tag-${slug(tag)}`;
    toc.push(el('li', {}, el('a', { href: `#${id}` }, tag), el('ul', {}, operations.map(([method, path]) =>
      el('li', {}, el('a', { href: `#${operationId(method, path)}` },
        el('span', { class: `method method-${method}` }, method.toUpperCase()), ' ', path))))));
    main.push(el('section', { class: 'tag', id, 'aria-labelledby': `${id}-h` },
      el('h2', { id: `${id}-h` }, tag), prose(tagDescriptions.get(tag)),
      operations.map(([method, path, op, item]) => operation(method, path, op, item, doc))));
  }
  if (schemas.length) {
    toc.push(el('li', {}, el('a', { href: '#schemas' }, 'Schemas'), el('ul', {}, schemas.map(([name]) =>
      el('li', {}, el('a', { href: `#${schemaId(name)}` }, name))))));
    main.push(el('section', { id: 'schemas', 'aria-labelledby': 'schemas-h' },
      el('h2', { id: 'schemas-h' }, 'Schemas'), schemas.map(([name, schema]) => schemaSection(name, schema, doc))));
  }
  document.getElementById('toc-list').replaceChildren(...toc);
  document.getElementById('main').replaceChildren(...main);
}

async function start() {
  const details = document.getElementById('toc-details');
  const wide = window.matchMedia('(min-width: 60rem)');
  details.open = wide.matches;
  wide.addEventListener('change', () => { details.open = wide.matches; });
  try {
    const response = await fetch('/openapi.json', { headers: { accept: 'application/json' } });
    if (!response.ok) throw new Error(`/openapi.json answered ${response.status}`);
    render(await response.json());
    const target = location.hash && document.getElementById(decodeURIComponent(location.hash.slice(1)));
    if (target) target.scrollIntoView();
  } catch (error) {
    const status = document.getElementById('status');
    if (status) status.textContent = `The API description could not be loaded: ${error.message}`;
  }
}

start();
