/**
 * A tiny XML writer for Query-protocol responses. Element values are
 * strings, numbers, booleans, nested elements, or arrays of elements;
 * `undefined` leaves the element out (optional members AWS omits).
 */
export type XmlValue = string | number | boolean | XmlNode[] | undefined;
export interface XmlNode {
  name: string;
  value: XmlValue;
}

export const el = (name: string, value: XmlValue): XmlNode => ({ name, value });

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

export function renderXml(node: XmlNode, attrs = ''): string {
  const { name, value } = node;
  if (value === undefined) return '';
  if (Array.isArray(value)) {
    const inner = value.map((n) => renderXml(n)).join('');
    return inner === '' ? `<${name}${attrs}/>` : `<${name}${attrs}>${inner}</${name}>`;
  }
  return `<${name}${attrs}>${escapeXml(String(value))}</${name}>`;
}

/** The RDS API namespace (API version 2014-10-31). */
export const RDS_XMLNS = 'http://rds.amazonaws.com/doc/2014-10-31/';

/**
 * `<{Action}Response xmlns=...><{Action}Result>...</{Action}Result>
 * <ResponseMetadata><RequestId>..</RequestId></ResponseMetadata></{Action}Response>`
 */
export function queryResponse(action: string, result: XmlNode[], requestId: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    renderXml(el(`${action}Response`, [el(`${action}Result`, result), el('ResponseMetadata', [el('RequestId', requestId)])]), ` xmlns="${RDS_XMLNS}"`)
  );
}

/** `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>` */
export function queryErrorResponse(type: string, code: string, message: string, requestId: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    renderXml(
      el('ErrorResponse', [el('Error', [el('Type', type), el('Code', code), el('Message', message)]), el('RequestId', requestId)]),
      ` xmlns="${RDS_XMLNS}"`,
    )
  );
}
