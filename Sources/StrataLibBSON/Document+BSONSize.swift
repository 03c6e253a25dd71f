import StrataBSON

extension Document {
    /// The size of the document encoded as BSON, in bytes (what `$bsonSize` answers).
    package var bsonSize: Int { BSONBuffer(self).byteCount }
}
