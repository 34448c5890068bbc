export { actingAgent, eventColumns, eventFromCanonicalText, eventRow, publicationRow, type EventRow, type KafkaPosition } from './rows.js';
