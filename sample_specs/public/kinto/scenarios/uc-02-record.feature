# language: zh-CN
功能: UC-02 在自己的集合中保存并读回记录（Records：Create；Retrieve）

  场景: 保存的记录可以按其标识读回，并出现在集合的记录列表中
    假如 以测试账户“bob”登录
    当 调用操作“create_record”，字段为：
      | 字段 | 值               |
      | note | 实验室测试记录一 |
    那么 操作成功
    而且 记下应答字段“record_id”为“记录号”
    当 调用操作“records”
    那么 操作成功
    而且 应答字段“items”中有一项含有记下的“记录号”
